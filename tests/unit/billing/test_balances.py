"""Running totals of rated charges: apply_charge_deltas, the balance that reads them,
``check`` (recomputed from the CDRs) and its repair, and `billing check` (CLI)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from orchestrator.billing import balances
from orchestrator.billing.balances import Mismatch, apply_charge_deltas, charge_units
from orchestrator.billing.models import CustomerCharges
from orchestrator.cli.billing_check import check_command
from orchestrator.customers import payments
from tests.unit.billing.balances_support import OPERATOR, U, make_customer, rate

pytest_plugins = ["tests.unit.billing.balances_fixtures"]


def test_deltas_create_then_add_to_the_total_and_skip_zeros(session: Session) -> None:
    a, b = make_customer(session, "A"), make_customer(session, "B")
    apply_charge_deltas(session, {a.id: 150, b.id: 0})
    apply_charge_deltas(session, {a.id: -20})
    apply_charge_deltas(session, {a.id: 7, b.id: 5})
    rows = dict(session.execute(select(CustomerCharges.customer_id,
                                       CustomerCharges.charges)).all())
    assert rows == {a.id: 137, b.id: 5}
    assert charge_units(session, [a.id, b.id, 999]) == {a.id: 137, b.id: 5, 999: 0}


def test_balance_is_completed_payments_minus_taxed_running_total(session: Session) -> None:
    c = make_customer(session, tax_percent="20", debit_limit="5")
    payments.add_payment(session, OPERATOR, c.id, {"amount": "10", "status": "completed"})
    payments.add_payment(session, OPERATOR, c.id, {"amount": "100"})        # pending
    payments.add_payment(session, OPERATOR, c.id, {"amount": "3", "status": "cancelled"})
    rate(session, c.id, 150_000_000, 25_000_000)    # 1.50 + 0.25
    rate(session, c.id, 90_000_000, rated=False)    # not rated: does not count
    # 10 - 1.75 x 1.2 = 7.9; credit 7.9 + 5
    assert payments.rated_charges(session, [c.id]) == {c.id: Decimal("1.75")}
    assert payments.balance(session, c.id) == Decimal("7.9")
    assert payments.credit_available(session, c.id) == Decimal("12.9")


def test_sub_cent_units_are_kept_exactly(session: Session) -> None:
    c = make_customer(session, tax_percent="10")
    rate(session, c.id, 1, 2)                         # 3 x 10^-8
    # 0 - 0.00000003 x 1.1 = -0.000000033 -> -0.000000 at the 6 places of Money
    assert payments.rated_charges(session, [c.id])[c.id] == Decimal("0.00000003")
    assert payments.balance(session, c.id) == Decimal(0)


def test_check_passes_when_totals_match_and_names_a_corrupted_total(
        session: Session) -> None:
    a, b, c = (make_customer(session, n) for n in ("A", "B", "C"))
    payments.add_payment(session, OPERATOR, a.id, {"amount": "50", "status": "completed"})
    rate(session, a.id, 100, 200)
    rate(session, b.id, 5 * U)
    rate(session, c.id, 1)
    assert balances.check(session) == []
    session.execute(update(CustomerCharges)
                    .where(CustomerCharges.customer_id == b.id).values(charges=4 * U))
    found = balances.check(session)
    assert found == [Mismatch(b.id, 4 * U, 5 * U)]
    assert found[0].difference == -U
    assert found[0].to_dict() == {"customer_id": b.id, "total": "4", "computed": "5",
                                  "difference": "-1"}
    assert balances.fix(session, found) == 1
    assert balances.check(session) == []
    assert charge_units(session, [b.id]) == {b.id: 5 * U}


def test_check_finds_cdrs_without_total_and_totals_without_cdrs(session: Session) -> None:
    a, b = make_customer(session, "A"), make_customer(session, "B")
    rate(session, a.id, 300)
    session.execute(delete(CustomerCharges))   # rated, but no running total
    apply_charge_deltas(session, {b.id: 42})                # a total, but no CDR
    assert balances.check(session) == [Mismatch(a.id, 0, 300), Mismatch(b.id, 42, 0)]
    balances.fix(session, balances.check(session))
    assert balances.check(session) == []
    assert charge_units(session, [a.id, b.id]) == {a.id: 300, b.id: 0}


def test_balances_of_a_page_take_a_fixed_number_of_queries(session: Session) -> None:
    from sqlalchemy import event

    customers = [make_customer(session, f"C{n}") for n in range(30)]
    for n, c in enumerate(customers):
        rate(session, c.id, (n + 1) * U)
    statements: list[str] = []
    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute",
                 lambda *args: statements.append(str(args[2])))
    owed = payments.balances(session, [c.id for c in customers])
    assert owed[customers[0].id] == Decimal(-1) and owed[customers[29].id] == Decimal(-30)
    assert len(statements) == 3     # payments, taxes, running totals
    assert not any("cdrs" in s for s in statements)


@pytest.fixture
def run_check(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ORCHESTRATOR_DATABASE_URL", db_url)
    monkeypatch.setenv("ORCHESTRATOR_VAR_DIR", str(tmp_path / "var"))
    return lambda *args: CliRunner().invoke(check_command, list(args))


def test_cli_check_reports_then_fixes(session: Session, run_check) -> None:  # type: ignore[no-untyped-def]
    a = make_customer(session, "A")
    rate(session, a.id, 250_000_000)
    session.commit()
    ok = run_check()
    assert ok.exit_code == 0 and "ok" in ok.output
    session.execute(update(CustomerCharges).values(charges=2 * U))
    session.commit()
    bad = run_check()
    assert bad.exit_code == 1
    assert f"customer {a.id}: total 2, rated CDRs 2.5, difference -0.5" in bad.output
    as_json = json.loads(run_check("--json").output)
    assert as_json["mismatches"] == [{"customer_id": a.id, "total": "2", "computed": "2.5",
                                      "difference": "-0.5"}]
    fixed = run_check("--fix")
    assert fixed.exit_code == 0 and "fixed 1 total(s)" in fixed.output
    assert run_check().exit_code == 0


def test_migration_0010_totals_the_cdrs_rated_before_it(tmp_path: Path) -> None:
    from sqlalchemy import create_engine, text

    from orchestrator.db import upgrade

    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0009")
    engine = create_engine(url)
    with engine.begin() as conn:
        for n, (cust, charge, rated) in enumerate([(1, 100, True), (1, 23, True),
                                                   (1, 999, False), (2, 5, True),
                                                   (None, 7, True)]):
            conn.execute(text(
                "INSERT INTO cdrs (node, call_id, from_tag, cseq, start_at, end_at, "
                "duration_ms, code, reason, hangup, customer_id, sip_user, source_ip, "
                "caller, dialled, number, routed, tariff, tried, media, media_zone, "
                "rated_at, jurisdiction, sell_prefix, sell_currency, sell_billed, "
                "sell_charge, customer_charge, buy_prefix, buy_currency, buy_billed, "
                "buy_charge, profit) VALUES ('local', :cid, 'f', 1, '2026-01-01', "
                "'2026-01-01', 0, 200, '', '', :cust, '', '', '', '', '', '', '', '', '', "
                "'', :rated, '', '', '', 0, 0, :charge, '', '', 0, 0, 0)"),
                {"cid": f"c{n}", "cust": cust, "charge": charge,
                 "rated": "2026-01-01" if rated else None})
    upgrade(url)
    with engine.connect() as conn:
        query = text("SELECT customer_id, charges FROM customer_charges")
        rows: dict[int, int] = dict(conn.execute(query).all())
    engine.dispose()
    assert rows == {1: 123, 2: 5}
