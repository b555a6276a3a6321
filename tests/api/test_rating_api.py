"""POST /api/v1/cdrs/rerate: a job (run by a real huey consumer) that rates a period
again and moves the balances by the difference; bad input is refused and queues nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from orchestrator.billing import balances, rating
from orchestrator.billing.models import Cdr
from orchestrator.jobs import queue as jobqueue
from orchestrator.jobs.models import Job
from orchestrator.ratecards.models import ExchangeRate
from tests.api.conftest import Api
from tests.support.cdrs import add_cdrs
from tests.support.jobs import running_consumer
from tests.unit.billing.rating_world import T0, R, customer, revision, sell_card
from tests.unit.ratecards.cards_support import exchange_rate

H = timedelta(hours=1)


@pytest.fixture
def jobs_api(api: Api) -> Iterator[Api]:
    queue = jobqueue.configure(api.app.extensions["webui"].settings)
    jobqueue.load_task_modules()
    with running_consumer(queue):
        yield api
    jobqueue.reset()


def _world(api: Api) -> tuple[int, int, list[int]]:
    """Two EUR customers (0.5 EUR per USD) with one-minute calls at 0.06 USD/min
    (0.03 EUR each): a at T0 and T0+1h, b at T0+1h; all rated."""
    with api.sessions.begin() as session:
        exchange_rate(session, "EUR", "0.5")
        a, b = customer(session, "EUR"), customer(session, "EUR")
        rev = revision(session, sell_card(session), [R("44", "0.0600")])
        base = {"customer_card_revision_id": rev.id, "number": "4412", "duration_ms": 60_000}
        cdrs = add_cdrs(session, base | {"customer_id": a.id, "start_at": T0},
                        base | {"customer_id": a.id, "start_at": T0 + H},
                        base | {"customer_id": b.id, "start_at": T0 + H})
        rating.rate_pending(session, base_currency="USD")
        session.execute(update(ExchangeRate).values(per_base="1"))  # now 0.06 EUR each
        return a.id, b.id, [c.id for c in cdrs]


def _charges(api: Api, ids: list[int]) -> list[int]:
    with api.sessions() as session:
        return [session.get(Cdr, i).customer_charge for i in ids]  # type: ignore[union-attr]


def test_rerate_a_period_as_a_job(jobs_api: Api) -> None:
    a, b, ids = _world(jobs_api)
    answer = jobs_api.client.post("/api/v1/cdrs/rerate", json={
        "start": "2026-03-01T12:00:00Z", "end": "2026-03-01T14:00:00+01:00"},  # = 13:00Z
        headers=jobs_api.auth("oscar"))
    assert answer.status_code == 202, answer.get_json()
    assert answer.get_json()["kind"] == "billing.rerate"
    job = jobs_api.wait_job(answer.get_json()["id"])
    assert job["state"] == "done", job
    assert job["result"] == {"rated": 1, "waiting": 0, "customers": [a],
                             "deltas": {str(a): "0.03000000"}}
    assert _charges(jobs_api, ids) == [6_000_000, 3_000_000, 3_000_000]
    with jobs_api.sessions() as session:
        assert balances.charge_units(session, [a, b]) == {a: 9_000_000, b: 3_000_000}
        assert balances.check(session) == []


def test_rerate_one_customer(jobs_api: Api) -> None:
    _, b, ids = _world(jobs_api)
    answer = jobs_api.client.post("/api/v1/cdrs/rerate", json={
        "start": "2026-03-01T00:00:00", "end": "2026-03-02T00:00:00", "customer_id": b},
        headers=jobs_api.auth())
    assert answer.status_code == 202, answer.get_json()
    job = jobs_api.wait_job(answer.get_json()["id"])
    assert job["state"] == "done" and job["result"]["customers"] == [b]
    assert _charges(jobs_api, ids) == [3_000_000, 3_000_000, 6_000_000]


@pytest.mark.parametrize(("body", "field"), [
    ({"start": "2026-03-01T12:00:00Z", "end": "2026-03-01T12:00:00Z"}, "end"),
    ({"start": "2026-03-02T00:00:00Z", "end": "2026-03-01T00:00:00Z"}, "end"),
    ({"start": "2026-03-01T00:00:00Z", "end": "2026-03-02T00:00:00Z",
      "customer_id": 99_999}, "customer_id"),
    ({"start": "yesterday", "end": "2026-03-02T00:00:00Z"}, "start"),
    ({"end": "2026-03-02T00:00:00Z"}, "start"),
    ({"start": "2026-03-01T00:00:00Z", "end": "2026-03-02T00:00:00Z", "customer_id": 0},
     "customer_id")])
def test_bad_input_is_refused_and_queues_nothing(api: Api, body: dict[str, Any],
                                                 field: str) -> None:
    _, _, ids = _world(api)
    answer = api.client.post("/api/v1/cdrs/rerate", json=body, headers=api.auth("oscar"))
    assert answer.status_code == 422, answer.get_json()
    assert field in answer.get_json()["errors"]
    with api.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0
    assert _charges(api, ids) == [3_000_000] * 3


def test_viewers_cannot_rerate(api: Api) -> None:
    answer = api.client.post("/api/v1/cdrs/rerate", json={
        "start": "2026-03-01T00:00:00Z", "end": "2026-03-02T00:00:00Z"},
        headers=api.auth("vera"))
    assert answer.status_code == 403
