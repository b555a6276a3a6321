"""Re-rating a period: the balances get the old -> new difference; period bounds,
customer filter, bad input, the job and the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from orchestrator.billing import balances, rating
from orchestrator.billing.models import Cdr
from orchestrator.errors import ValidationFailed
from orchestrator.ratecards.models import ExchangeRate
from tests.support.cdrs import add_cdrs
from tests.unit.billing.rating_world import (
    JURISDICTIONS,
    T0,
    R,
    customer,
    revision,
    sell_card,
    session_at,
)
from tests.unit.ratecards.cards_support import exchange_rate

H = timedelta(hours=1)


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    yield from session_at(tmp_path)


@pytest.fixture
def deltas(monkeypatch: pytest.MonkeyPatch) -> list[dict[int, int]]:
    calls: list[dict[int, int]] = []
    monkeypatch.setattr(balances, "apply_charge_deltas",
                        lambda session, d: calls.append(dict(d)))
    return calls


OPTIONS: dict[str, Any] = {"jurisdictions": JURISDICTIONS, "base_currency": "USD"}


def charges(session: Session, ids: list[int]) -> list[int]:
    session.expire_all()
    return [session.get(Cdr, i).customer_charge for i in ids]  # type: ignore[union-attr]


def world(session: Session) -> tuple[int, int, list[int]]:
    """Two EUR customers (EUR at 0.5 per USD), one USD card at 0.06/min; CDRs of one
    minute (0.06 USD = 0.03 EUR) at T0, T0+1h, T0+2h for a, T0+1h for b."""
    exchange_rate(session, "EUR", "0.5")
    a, b = customer(session, "EUR"), customer(session, "EUR")
    rev = revision(session, sell_card(session), [R("44", "0.0600")])
    base = {"customer_card_revision_id": rev.id, "number": "4412", "duration_ms": 60_000}
    cdrs = add_cdrs(session, base | {"customer_id": a.id, "start_at": T0},
                    base | {"customer_id": a.id, "start_at": T0 + H},
                    base | {"customer_id": a.id, "start_at": T0 + 2 * H},
                    base | {"customer_id": b.id, "start_at": T0 + H})
    return a.id, b.id, [c.id for c in cdrs]


def set_eur(session: Session, value: str) -> None:
    session.execute(update(ExchangeRate).where(ExchangeRate.currency == "EUR")
                    .values(per_base=value))


def test_rerate_applies_the_difference(session: Session, deltas: list[dict[int, int]]) -> None:
    a, b, ids = world(session)
    rating.rate_pending(session, **OPTIONS)
    assert charges(session, ids) == [3_000_000] * 4
    assert deltas == [{a: 9_000_000, b: 3_000_000}]
    set_eur(session, "0.75")  # 0.06 USD is now 0.045 EUR
    # the 3rd CDR starts at the end: not re-rated. Batches of 2: a's two CDRs, then b's
    result = rating.rerate(session, T0, T0 + 2 * H, batch=2, **OPTIONS)
    assert charges(session, ids) == [4_500_000, 4_500_000, 3_000_000, 4_500_000]
    assert deltas[1:] == [{a: 3_000_000}, {b: 1_500_000}]  # each batch with its deltas
    assert (result.rated, result.customers) == (3, {a, b})
    assert result.deltas == {a: 3_000_000, b: 1_500_000}


def test_rerate_one_customer(session: Session, deltas: list[dict[int, int]]) -> None:
    _, b, ids = world(session)
    rating.rate_pending(session, **OPTIONS)
    set_eur(session, "0.75")
    result = rating.rerate(session, T0, T0 + 3 * H, b, **OPTIONS)
    assert charges(session, ids) == [3_000_000] * 3 + [4_500_000]
    assert deltas[1:] == [{b: 1_500_000}] and result.rated == 1


def test_rerate_uses_the_card_settings_of_now(session: Session,
                                              deltas: list[dict[int, int]]) -> None:
    card = sell_card(session, precision=2, rounding="down")
    rev = revision(session, card, [R("44", "0.0600")])
    who = customer(session)
    (cdr,) = add_cdrs(session, {"customer_id": who.id, "customer_card_revision_id": rev.id,
                                "number": "4412", "duration_ms": 90_000, "start_at": T0})
    rating.rate_pending(session, **OPTIONS)  # 0.09 exactly at 2 decimals
    card.precision, card.rounding = 1, "up"  # 0.09 -> 0.1
    session.flush()
    rating.rerate(session, T0, T0 + H, **OPTIONS)
    assert charges(session, [cdr.id]) == [10_000_000]
    assert deltas == [{who.id: 9_000_000}, {who.id: 1_000_000}]


def test_rerate_without_change_moves_nothing(session: Session,
                                            deltas: list[dict[int, int]]) -> None:
    _, _, ids = world(session)
    rating.rate_pending(session, **OPTIONS)
    result = rating.rerate(session, T0 - H, T0 + 3 * H, batch=3, **OPTIONS)
    assert result.rated == 4 and result.customers == set() and len(deltas) == 1
    assert charges(session, ids) == [3_000_000] * 4


def test_rerate_rates_cdrs_never_rated(session: Session, deltas: list[dict[int, int]]) -> None:
    a, _, ids = world(session)
    seen: list[int] = []
    result = rating.rerate(session, T0, T0 + H, progress=seen.append, **OPTIONS)
    assert result.rated == 1 and deltas == [{a: 3_000_000}] and seen == [1]
    assert charges(session, ids) == [3_000_000, 0, 0, 0]
    assert rating.rate_pending(session, **OPTIONS).rated == 3  # the rest


@pytest.mark.parametrize(("start", "end", "customer_id", "field"), [
    (T0, T0, None, "end"), (T0 + H, T0, None, "end"), (T0, T0 + H, 999_999, "customer_id"),
    (None, T0, None, "start")])
def test_rerate_refuses_bad_input(session: Session, deltas: list[dict[int, int]],
                                  start: Any, end: Any, customer_id: int | None,
                                  field: str) -> None:
    world(session)
    with pytest.raises(ValidationFailed) as caught:
        rating.rerate(session, start, end, customer_id, **OPTIONS)
    assert field in caught.value.errors
    assert deltas == []
    assert session.scalar(select(func.count()).select_from(Cdr)
                          .where(Cdr.rated_at.is_not(None))) == 0


def test_cli_rerate_refuses_bad_input_clearly() -> None:
    from orchestrator.cli import cli
    runner = CliRunner()
    bad_time = runner.invoke(cli, ["billing", "rerate", "--from", "yesterday",
                                   "--to", "2026-01-02T00:00:00Z"])
    assert bad_time.exit_code == 2 and "ISO 8601" in bad_time.output
    missing = runner.invoke(cli, ["billing", "rerate", "--from", "2026-01-01"])
    assert missing.exit_code == 2 and "--to" in missing.output


def test_running_totals_match_the_cdrs_after_rating_and_rerating(session: Session) -> None:
    a, b, _ = world(session)  # the real balances.apply_charge_deltas
    rating.rate_pending(session, **OPTIONS)
    assert balances.charge_units(session, [a, b]) == {a: 9_000_000, b: 3_000_000}
    set_eur(session, "1")
    rating.rerate(session, T0 + H, T0 + 3 * H, **OPTIONS)
    assert balances.charge_units(session, [a, b]) == {a: 3_000_000 + 2 * 6_000_000,
                                                      b: 6_000_000}
    assert balances.check(session) == []


@pytest.fixture
def var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ORCHESTRATOR_VAR_DIR", str(tmp_path))
    return tmp_path


def test_cli_rerate_waits_for_the_job(var: Path) -> None:
    import json

    from orchestrator.cli import cli
    sessions = session_at(var)  # migrates var/orchestrator.db (the settings' database)
    session = next(sessions)
    a, _, ids = world(session)
    session.commit()
    runner = CliRunner()
    done = runner.invoke(cli, ["billing", "rerate", "--from", "2026-03-01T12:00:00Z",
                               "--to", "2026-03-01T14:00", "--customer", str(a), "--wait",
                               "--json"])
    assert done.exit_code == 0, done.output
    job = json.loads(done.stdout)
    assert job["state"] == "done" and job["kind"] == "billing.rerate"
    assert job["result"]["rated"] == 2 and job["result"]["customers"] == [a]
    assert job["result"]["deltas"] == {str(a): "0.06000000"}  # 2 x 0.03 EUR
    assert charges(session, ids) == [3_000_000, 3_000_000, 0, 0]
    queued = runner.invoke(cli, ["billing", "rerate", "--from", "2026-03-01T12:00:00Z",
                                 "--to", "2026-03-01T11:00:00Z"])
    assert queued.exit_code == 1 and "end: must be after start" in queued.output
    unknown = runner.invoke(cli, ["billing", "rerate", "--from", "2026-03-01T12:00:00Z",
                                  "--to", "2026-03-02", "--customer", "nobody"])
    assert unknown.exit_code == 1 and "no customer named 'nobody'" in unknown.output
    sessions.close()


def test_the_worker_knows_the_rerate_job() -> None:
    import subprocess
    import sys
    code = ("from orchestrator.jobs.queue import load_task_modules, registered_kinds\n"
            "load_task_modules()\nprint(registered_kinds())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert "'billing.rerate'" in out


def test_a_rerate_and_the_collector_never_count_a_charge_twice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The collector rates while a re-rating has read its batch and not written it yet:
    the re-rating holds SQLite's write lock from before its read, so the collector
    waits, then finds nothing left to rate; the running totals match the CDRs."""
    import threading

    from orchestrator.billing import rating as module
    from orchestrator.db import make_engine, session_factory
    sessions = session_at(tmp_path)
    session = next(sessions)
    a, b, _ = world(session)
    session.commit()
    engine = make_engine(f"sqlite:///{tmp_path / 'orchestrator.db'}")
    collected: list[int] = []

    def collector() -> None:
        with session_factory(engine)() as other:
            collected.append(module.rate_pending(other, **OPTIONS).rated)
            other.commit()

    from orchestrator.billing.rating_frame import rate_frame as real
    other = threading.Thread(target=collector)

    def rate_frame_meanwhile(*args: Any) -> Any:
        if not other.is_alive() and not collected:
            other.start()
            other.join(0.5)  # it has to wait for the re-rating's lock
        return real(*args)

    monkeypatch.setattr(module, "rate_frame", rate_frame_meanwhile)  # what rating calls
    result = rating.rerate(session, T0 - H, T0 + 3 * H, **OPTIONS)
    session.commit()
    other.join(30)
    assert result.rated == 4 and collected == [0]
    assert balances.charge_units(session, [a, b]) == {a: 9_000_000, b: 3_000_000}
    assert balances.check(session) == []
    engine.dispose()
    sessions.close()
