"""A customer's balance statement over a period (web page, REST, CLI).

Opening balance (everything before the period) + completed payments - charges x
(1 + tax) per day = the running total; the closing balance of a period that runs to
today is ``payments.balance``. Sums come from SQL: integer charge units of the rated
CDRs per UTC day (exact), payment amounts added in Decimal in Python (SQLite sums
decimals as floats). A payment counts on the day it was recorded (``created_at``);
a CDR on the day its call started. Pending payments are listed apart and do not count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Date, case, cast, func, select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.billing.balances import UNIT, charge_units
from orchestrator.billing.models import Cdr
from orchestrator.carriers.service import format_money
from orchestrator.customers.models import Customer, CustomerPayment
from orchestrator.customers.payments import MONEY_QUANTUM, balance, payment_to_dict
from orchestrator.customers.service import decimal_str, get_customer
from orchestrator.errors import ValidationFailed

MAX_DAYS = 3660   # a statement covers at most ten years


@dataclass(frozen=True)
class Day:
    day: date
    attempts: int          # rated CDRs that started that day
    calls: int             # of which answered
    charges: Decimal       # before tax
    tax: Decimal
    payments: Decimal      # completed payments recorded that day
    balance: Decimal       # running total at the end of the day

    def to_dict(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "attempts": self.attempts,
                "calls": self.calls, "charges": money(self.charges),
                "tax": money(self.tax), "payments": money(self.payments),
                "balance": money(self.balance)}


@dataclass
class Statement:
    customer_id: int
    customer_name: str
    currency: str
    tax_percent: Decimal
    debit_limit: Decimal
    start: date
    end: date                                   # inclusive
    opening: Decimal                            # balance before ``start``
    closing: Decimal                            # running total after ``end``
    balance: Decimal                            # today's balance (all time)
    days: list[Day] = field(default_factory=list)
    completed: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)

    @property
    def credit_available(self) -> Decimal:
        return self.balance + self.debit_limit

    @property
    def total_charges(self) -> Decimal:
        return sum((d.charges for d in self.days), Decimal(0))

    @property
    def total_tax(self) -> Decimal:
        return sum((d.tax for d in self.days), Decimal(0))

    @property
    def total_payments(self) -> Decimal:
        return sum((d.payments for d in self.days), Decimal(0))

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id, "currency": self.currency,
            "balance": money(self.balance), "debit_limit": money(self.debit_limit),
            "credit_available": money(self.credit_available),
            "statement": {
                "from": self.start.isoformat(), "to": self.end.isoformat(),
                "tax_percent": decimal_str(self.tax_percent),
                "opening_balance": money(self.opening),
                "payments": money(self.total_payments),
                "charges": money(self.total_charges), "tax": money(self.total_tax),
                "closing_balance": money(self.closing),
                "days": [d.to_dict() for d in self.days],
                "completed_payments": self.completed,
                "pending_payments": self.pending,
            },
        }


def money(value: Decimal) -> str:
    """At the 6 places of Money, shown with at least 2: 25.2 -> '25.20' (as the API)."""
    rounded = value.quantize(MONEY_QUANTUM, ROUND_HALF_UP)
    return format_money(rounded if rounded else Decimal(0))


def _payment(payment: CustomerPayment) -> dict[str, Any]:
    view = payment_to_dict(payment)
    return view | {"amount": money(payment.amount), "fee": money(payment.fee)}


def parse_day(value: Any, name: str) -> date | None:
    """``YYYY-MM-DD`` (or a date), None when empty; ValidationFailed otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationFailed.one(name, "must be a date, YYYY-MM-DD") from None


def period(start: Any = None, end: Any = None, *, today: date | None = None
           ) -> tuple[date, date]:
    """The period asked for; default: from the first of this month to today (UTC)."""
    today = today or datetime.now(UTC).date()
    first, last = parse_day(start, "from"), parse_day(end, "to")
    last = last or max(today, first or today)
    first = first or min(last.replace(day=1), last)
    if last >= date.max:
        raise ValidationFailed.one("to", "must be before 9999-12-31")
    if first > last:
        raise ValidationFailed.one("from", f"must not be after to ({last.isoformat()})")
    if (last - first).days >= MAX_DAYS:
        raise ValidationFailed.one("from", f"a statement covers at most {MAX_DAYS} days")
    return first, last


def _moment(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _day_of(session: Session) -> Any:
    """SQL for the UTC day of a CDR's start."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", Cdr.start_at), Date)
    return func.date(Cdr.start_at)


def _units_before(session: Session, customer_id: int, in_period: int, end: datetime) -> int:
    """Charges of the CDRs that started before the period: the running total minus the
    period's (``in_period``) and those after ``end``. Statements are mostly recent, so
    this reads the period's CDRs, not all history (``billing check`` proves that the
    total equals the CDRs' sum)."""
    after = int(session.scalar(select(func.coalesce(func.sum(Cdr.customer_charge), 0)).where(
        Cdr.customer_id == customer_id, Cdr.rated_at.is_not(None),
        Cdr.start_at >= end)) or 0)
    return charge_units(session, [customer_id])[customer_id] - in_period - after


def _paid_before(session: Session, customer_id: int, moment: datetime) -> Decimal:
    amounts = session.scalars(select(CustomerPayment.amount).where(
        CustomerPayment.customer_id == customer_id, CustomerPayment.status == "completed",
        CustomerPayment.created_at < moment))
    return sum(amounts, Decimal(0))


def _charges_per_day(session: Session, customer_id: int, lo: datetime, hi: datetime
                     ) -> dict[date, tuple[int, int, int]]:
    day = _day_of(session)
    rows = session.execute(
        select(day, func.count(), func.sum(case((Cdr.duration_ms > 0, 1), else_=0)),
               func.sum(Cdr.customer_charge))
        .where(Cdr.customer_id == customer_id, Cdr.rated_at.is_not(None),
               Cdr.start_at >= lo, Cdr.start_at < hi)
        .group_by(day))
    return {parse_day(d, "day") or date.min: (int(n), int(answered or 0), int(units or 0))
            for d, n, answered, units in rows}


def statement(session: Session, actor: Actor, customer_id: int, start: Any = None,
              end: Any = None, *, today: date | None = None) -> Statement:
    """The statement of ``customer_id`` from ``start`` to ``end`` (dates, inclusive)."""
    customer: Customer = get_customer(session, actor, customer_id)
    first, last = period(start, end, today=today)
    lo, hi = _moment(first), _moment(last + timedelta(days=1))
    factor = 1 + customer.tax_percent / 100
    charged = _charges_per_day(session, customer.id, lo, hi)
    before = _units_before(session, customer.id, sum(u for _, _, u in charged.values()), hi)
    opening = _paid_before(session, customer.id, lo) - Decimal(before) / UNIT * factor
    payments = list(session.scalars(select(CustomerPayment).where(
        CustomerPayment.customer_id == customer.id, CustomerPayment.created_at >= lo,
        CustomerPayment.created_at < hi).order_by(CustomerPayment.created_at,
                                                  CustomerPayment.id)))
    paid: dict[date, Decimal] = {}
    for p in payments:
        if p.status == "completed":
            when = p.created_at.date()
            paid[when] = paid.get(when, Decimal(0)) + p.amount
    result = Statement(customer.id, customer.name, customer.currency, customer.tax_percent,
                       customer.debit_limit, first, last, opening, opening,
                       balance(session, customer.id),
                       completed=[_payment(p) for p in payments if p.status == "completed"],
                       pending=[_payment(p) for p in payments if p.status == "pending"])
    running = opening
    for day in sorted(paid.keys() | charged.keys()):
        attempts, calls, units = charged.get(day, (0, 0, 0))
        charges = Decimal(units) / UNIT
        tax = charges * customer.tax_percent / 100
        running += paid.get(day, Decimal(0)) - charges - tax
        result.days.append(Day(day, attempts, calls, charges, tax, paid.get(day, Decimal(0)),
                               running))
    result.closing = running
    return result


def statement_dict(session: Session, actor: Actor, customer_id: int,
                   args: Mapping[str, Any]) -> dict[str, Any]:
    """What the REST API answers for ``?from=&to=``."""
    return statement(session, actor, customer_id, args.get("from"), args.get("to")).to_dict()
