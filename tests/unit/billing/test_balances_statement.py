"""The balance statement: opening balance, payments and charges per UTC day with tax
and the running total, pending payments apart, the period's bounds and bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from orchestrator.billing.statement import period, statement
from orchestrator.customers import payments
from orchestrator.customers.models import CustomerPayment
from orchestrator.errors import PermissionDenied, ValidationFailed
from tests.support.cdrs import add_cdrs
from tests.unit.billing.balances_support import OPERATOR, VIEWER, U, make_customer, rate

pytest_plugins = ["tests.unit.billing.balances_fixtures"]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def pay(session: Session, customer_id: int, amount: str, status: str, when: str) -> None:
    payment: CustomerPayment = payments.add_payment(
        session, OPERATOR, customer_id, {"amount": amount, "status": status})
    payment.created_at = at(when)
    session.flush()


@pytest.fixture
def customer_id(session: Session) -> int:
    c = make_customer(session, tax_percent="10", debit_limit="2")
    other = make_customer(session, "Other")
    pay(session, c.id, "50", "completed", "2026-01-01 10:00")        # before the period
    rate(session, c.id, 5 * U, start_at=at("2026-01-02 08:00"))       # before the period
    pay(session, c.id, "20", "completed", "2026-01-05 09:00")
    pay(session, c.id, "7", "pending", "2026-01-05 11:00")
    pay(session, c.id, "9", "cancelled", "2026-01-05 12:00")
    rate(session, c.id, 1 * U, 2 * U, start_at=at("2026-01-05 13:00"))
    add_cdrs(session, {"customer_id": c.id, "code": 503, "customer_charge": 0,
                       "rated_at": at("2026-01-05 14:00"),
                       "start_at": at("2026-01-05 14:00")})             # refused attempt
    rate(session, c.id, U // 2, start_at=at("2026-01-06 23:59:59"))
    rate(session, c.id, 1 * U, start_at=at("2026-01-07 00:00:00"))    # after the period
    rate(session, other.id, 40 * U, start_at=at("2026-01-05 13:00"))  # someone else's
    return c.id


def test_days_running_total_and_totals(session: Session, customer_id: int) -> None:
    st = statement(session, VIEWER, customer_id, "2026-01-05", "2026-01-06")
    # opening 50 - 5 x 1.1 = 44.5; 5th: +20 - 3 - 0.3 = 61.2; 6th: -0.5 - 0.05 = 60.65
    data = st.to_dict()
    assert data["statement"]["opening_balance"] == "44.50"
    assert data["statement"]["days"] == [
        {"day": "2026-01-05", "attempts": 3, "calls": 2, "charges": "3.00", "tax": "0.30",
         "payments": "20.00", "balance": "61.20"},
        {"day": "2026-01-06", "attempts": 1, "calls": 1, "charges": "0.50", "tax": "0.05",
         "payments": "0.00", "balance": "60.65"}]
    totals = {k: data["statement"][k] for k in ("payments", "charges", "tax",
                                                 "closing_balance")}
    assert totals == {"payments": "20.00", "charges": "3.50", "tax": "0.35",
                      "closing_balance": "60.65"}
    assert [p["amount"] for p in data["statement"]["completed_payments"]] == ["20.00"]
    assert [p["amount"] for p in data["statement"]["pending_payments"]] == ["7.00"]
    # all time: 70 - (5 + 3 + 0.5 + 1) x 1.1 = 59.55; credit + 2
    assert (data["balance"], data["credit_available"]) == ("59.55", "61.55")


def test_a_period_to_the_last_charge_closes_on_the_balance(session: Session,
                                                            customer_id: int) -> None:
    st = statement(session, VIEWER, customer_id, "2026-01-01", "2026-01-07")
    assert st.opening == 0
    assert st.closing == Decimal("59.55") == payments.balance(session, customer_id)
    assert [d.day for d in st.days] == [date(2026, 1, d) for d in (1, 2, 5, 6, 7)]


def test_default_period_is_this_month_to_today(session: Session, customer_id: int) -> None:
    assert period(today=date(2026, 3, 17)) == (date(2026, 3, 1), date(2026, 3, 17))
    assert period("2026-01-05", today=date(2026, 3, 17)) == (date(2026, 1, 5),
                                                            date(2026, 3, 17))
    st = statement(session, VIEWER, customer_id, today=date(2026, 1, 6))
    assert (st.start, st.end) == (date(2026, 1, 1), date(2026, 1, 6))
    assert st.closing == Decimal("60.65")


@pytest.mark.parametrize(("start", "end", "field"), [
    ("2026-01-07", "2026-01-06", "from"), ("2026-13-01", None, "from"),
    (None, "yesterday", "to"), ("2000-01-01", "2026-01-01", "from"),
    ("9999-12-01", "9999-12-31", "to")])
def test_bad_periods_are_refused(session: Session, customer_id: int, start: str | None,
                                 end: str | None, field: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        statement(session, VIEWER, customer_id, start, end)
    assert list(err.value.errors) == [field]


def test_needs_a_user_that_may_read(session: Session, customer_id: int) -> None:
    from orchestrator.actor import Actor
    from orchestrator.errors import NotFound

    with pytest.raises(PermissionDenied):
        statement(session, Actor(9, "x", "nobody"), customer_id)
    with pytest.raises(NotFound):
        statement(session, VIEWER, 9999)


def test_cli_balance_and_low_balance(session: Session, customer_id: int, db_url: str,
                                     tmp_path: object,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from click.testing import CliRunner

    from orchestrator.cli import cli

    session.commit()
    monkeypatch.setenv("ORCHESTRATOR_DATABASE_URL", db_url)
    monkeypatch.setenv("ORCHESTRATOR_VAR_DIR", str(tmp_path))
    runner = CliRunner()
    out = runner.invoke(cli, ["customers", "balance", "acme", "--from", "2026-01-05",
                              "--to", "2026-01-06", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["statement"]["closing_balance"] == "60.65"
    assert data["credit_available"] == "61.55"
    text = runner.invoke(cli, ["customers", "balance", str(customer_id), "--from",
                               "2026-01-05", "--to", "2026-01-06"])
    assert "closing balance  60.65" in text.output
    assert "2026-01-05  3         2      3.00     0.30  20.00     61.20" in text.output
    assert "pending payments (not counted):" in text.output
    bad = runner.invoke(cli, ["customers", "balance", "acme", "--from", "2026-02-30"])
    assert bad.exit_code == 1 and "from: must be a date" in bad.output
    set_ = runner.invoke(cli, ["customers", "low-balance", "acme", "25"])
    assert set_.exit_code == 0 and "threshold 25" in set_.output
    refused = runner.invoke(cli, ["customers", "low-balance", "acme", "x"])
    assert refused.exit_code == 1 and "low_balance_threshold" in refused.output
    off = runner.invoke(cli, ["customers", "low-balance", "acme", "none"])
    assert off.exit_code == 0 and "threshold none" in off.output
