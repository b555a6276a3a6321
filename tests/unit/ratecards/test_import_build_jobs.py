"""Deck import, export and card builds as real background jobs (huey consumer threads)
on a migrated SQLite database: the path every interface takes."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from decimal import ROUND_UP, Decimal
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.carriers import service as carriers
from orchestrator.db import migrate
from orchestrator.errors import ValidationFailed
from orchestrator.jobs import queue as jobqueue
from orchestrator.jobs import service as jobs
from orchestrator.jobs.models import Job
from orchestrator.jobs.queue import JobQueue
from orchestrator.ratecards import customer_cards, imports, profit_rules, provider_cards, revisions
from orchestrator.ratecards.deck.reader import read_deck
from orchestrator.ratecards.models import Rate, RateRevision
from orchestrator.settings import Settings
from tests.support.jobs import running_consumer

ADMIN = Actor(None, "alice", "admin")
VIEWER = Actor(None, "vera", "viewer")
DECK = ("Dial Code;Destination;Price;Billing\r\n"
        "44;United Kingdom;0.0100;60/60\r\n"
        "4420;UK London;0.0080;30/6\r\n"
        "447;UK Mobile;0.0500;1/1\r\n")


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ratecard-jobs") / "orchestrator.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def queue(migrated_db: Path, tmp_path: Path) -> Iterator[JobQueue]:
    shutil.copy(migrated_db, tmp_path / "orchestrator.db")
    queue = jobqueue.configure(Settings(var_dir=tmp_path))
    jobqueue.load_task_modules()
    with running_consumer(queue):
        yield queue
    jobqueue.reset()


def _provider_card(queue: JobQueue, name: str = "Acme A-Z", currency: str = "USD") -> int:
    with queue.sessions.begin() as session:
        carrier = carriers.create_carrier(session, ADMIN, {"name": f"{name} carrier",
                                                           "currency": currency})
        card = provider_cards.create_provider_card(
            session, ADMIN, {"name": name, "carrier_id": carrier.id, "currency": currency})
        return card.id


def _import(queue: JobQueue, card_id: int, deck: str, **kwargs: object) -> Job:
    mapping = kwargs.pop("mapping", {"prefix": "Dial Code", "name": "Destination",
                                     "rate": "Price", "billing": "Billing"})
    with queue.sessions.begin() as session:
        job = imports.start_import(session, ADMIN, kind="provider", card_id=card_id,
                                   content=deck.encode(), filename="deck.csv",
                                   mapping=mapping, first_row=2, **kwargs)
        job_id = job.id
    return jobs.wait_for(queue.sessions, job_id, 30, poll=0.05)


def _rates(session: Session, revision_id: int) -> dict[str, Rate]:
    return {r.prefix: r for r in session.scalars(
        select(Rate).where(Rate.revision_id == revision_id))}


def test_import_activates_a_revision_with_every_row(queue: JobQueue) -> None:
    card_id = _provider_card(queue)
    job = _import(queue, card_id, DECK, activate=True)
    assert job.state == "done", job.errors
    assert job.progress == 100 and job.result is not None
    assert job.result["rows"] == 3 and job.result["state"] == "active"
    assert job.result["changes"]["new"] == 3
    with queue.sessions() as session:
        rates = _rates(session, job.result["revision_id"])
        assert rates["4420"].rate == 800_000 and (rates["4420"].mcd, rates["4420"].pulse) == (
            30, 6)
        assert rates["44"].name == "United Kingdom"
    assert not list((queue.settings.var_dir / "uploads").glob("*"))  # upload removed


def test_a_bad_row_imports_nothing_and_is_named(queue: JobQueue) -> None:
    card_id = _provider_card(queue)
    bad = DECK + "44x;Broken;0.01;60/60\r\n"
    job = _import(queue, card_id, bad, activate=True)
    assert job.state == "failed"
    fields = {e["field"]: e["messages"] for e in job.errors or []}
    assert any(key.startswith("row 5, Dial Code") for key in fields), fields
    assert "nothing was imported" in " ".join(fields["file"])
    with queue.sessions() as session:
        assert session.scalar(select(func.count()).select_from(RateRevision)) == 0
        assert session.scalar(select(func.count()).select_from(Rate)) == 0


def test_start_import_refuses_bad_parameters_at_once(queue: JobQueue) -> None:
    card_id = _provider_card(queue)
    with queue.sessions.begin() as session, pytest.raises(ValidationFailed) as caught:
        imports.start_import(session, ADMIN, kind="provider", card_id=card_id,
                             content=DECK.encode(), filename="x.csv",
                             mapping={"prefix": 0, "colour": 3}, first_row=0)
    assert {"mapping.colour", "mapping.rate", "first_row"} <= set(caught.value.errors)
    with queue.sessions.begin() as session, pytest.raises(ValidationFailed) as caught:
        imports.start_import(session, ADMIN, kind="provider", card_id=card_id, content=b"",
                             filename="x.csv", mapping={"prefix": 0, "rate": 1})
    assert "file" in caught.value.errors
    with queue.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_viewer_cannot_import(queue: JobQueue) -> None:
    card_id = _provider_card(queue)
    from orchestrator.errors import PermissionDenied
    with queue.sessions.begin() as session, pytest.raises(PermissionDenied):
        imports.start_import(session, VIEWER, kind="provider", card_id=card_id,
                             content=DECK.encode(), filename="x.csv",
                             mapping={"prefix": 0, "rate": 2})


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "orc"])
def test_export_reads_back_as_the_same_rates(queue: JobQueue, fmt: str) -> None:
    card_id = _provider_card(queue)
    job = _import(queue, card_id, DECK, activate=True)
    with queue.sessions() as session:
        content, filename, media = imports.export_revision(
            session, VIEWER, kind="provider", card_id=card_id, revision_id=None, format=fmt)
    assert filename.endswith({"csv": ".csv", "xlsx": ".xlsx", "orc": ".json"}[fmt])
    assert media
    table = read_deck(content)
    assert table.format == fmt
    preview = imports.preview(content)
    assert preview["mapping"]["prefix"] is not None
    assert job.result is not None
    cells = {row["cells"][0]: row["cells"] for row in preview["rows"][1:]}
    assert set(cells) == {"44", "4420", "447"}
    assert Decimal(cells["447"][2]) == Decimal("0.05")


def test_build_applies_the_rule_and_stores_candidates(queue: JobQueue) -> None:
    cheap = _provider_card(queue, "Cheap")
    dear = _provider_card(queue, "Dear")
    assert _import(queue, cheap, DECK, activate=True).state == "done"
    dear_deck = DECK.replace("0.0080", "0.0090").replace("0.0500", "0.0400")
    assert _import(queue, dear, dear_deck, activate=True).state == "done"
    with queue.sessions.begin() as session:
        card = customer_cards.create_customer_card(session, ADMIN, {
            "name": "Retail", "currency": "USD", "rate_compact": "min", "precision": 4,
            "rounding": "up", "parents": [{"provider_card_id": cheap},
                                          {"provider_card_id": dear}]})
        profit_rules.add_rule(session, ADMIN, card.id, {"match": "^44", "type": "percent",
                                                        "value": "10"})
        card_id = card.id
        job = imports.start_build(session, ADMIN, card_id, activate=True)
        job_id = job.id
    done = jobs.wait_for(queue.sessions, job_id, 60, poll=0.05)
    assert done.state == "done", done.errors
    assert done.result is not None
    [built] = done.result["built"]
    assert built["rows"] == 3 and built["state"] == "active"
    with queue.sessions() as session:
        rates = _rates(session, built["revision_id"])
        # min over parents, +10 %, rounded up to 4 decimals; the reference is Decimal.
        for prefix, costs in {"4420": ("0.0080", "0.0090"), "447": ("0.0500", "0.0400")}.items():
            expected = (min(Decimal(c) for c in costs) * Decimal("1.10")).quantize(
                Decimal("0.0001"), rounding=ROUND_UP)
            assert Decimal(rates[prefix].rate) / 10**8 == expected
        order = [int(c.split(":")[0]) for c in (rates["447"].candidates or "").split(",")]
        assert order == [dear, cheap]  # cheapest first: Dear is cheaper for mobiles
        card = customer_cards.get_customer_card(session, ADMIN, card_id)
        assert not revisions.stale(session, card)
    # A new parent revision makes the card stale; the bulk build picks it up.
    raised = dear_deck.replace("0.0400", "0.0450")
    assert _import(queue, dear, raised, activate=True).state == "done"
    with queue.sessions.begin() as session:
        card = customer_cards.get_customer_card(session, ADMIN, card_id)
        assert revisions.stale(session, card)
        job_id = imports.start_bulk_build(session, ADMIN).id
    rebuilt = jobs.wait_for(queue.sessions, job_id, 60, poll=0.05)
    assert rebuilt.state == "done" and rebuilt.result is not None
    [again] = rebuilt.result["built"]
    # 447: min(0.05, 0.045) * 1.1 = 0.0495, up from 0.044; nothing else moved.
    assert again["changes"]["increase"] == 1 and again["changes"]["unchanged"] == 2


def test_build_without_an_active_parent_revision_fails_clearly(queue: JobQueue) -> None:
    parent = _provider_card(queue, "Empty")
    with queue.sessions.begin() as session:
        card = customer_cards.create_customer_card(session, ADMIN, {
            "name": "Nothing", "currency": "USD", "parents": [{"provider_card_id": parent}]})
        job_id = imports.start_build(session, ADMIN, card.id).id
    job = jobs.wait_for(queue.sessions, job_id, 30, poll=0.05)
    assert job.state == "failed"
    assert "no active revision" in job.message


def test_preview_suggests_the_mapping_of_common_headers() -> None:
    preview = imports.preview(DECK.encode())
    assert preview["delimiter"] == ";"
    assert preview["mapping"]["prefix"] == 0 and preview["mapping"]["rate"] == 2
    assert preview["first_row"] == 2
    assert pl.DataFrame(preview["rows"]).height == 4
