"""Traffic statistics over a period, aggregated by SQL (GROUP BY), never row by row.

Grouped by customer, carrier, destination (the sell prefix the CDR was rated with,
named from that card revision's rate), or by hour / day of ``start_at`` (UTC) for
charts. Per group: attempts, answered, ASR, ACD, PDD, minutes, revenue, cost, profit.

Money: each CDR's charges are in its card's currency (``sell_currency``,
``buy_currency``). SQL sums them per group *and currency*, exactly (integers); the sums
are then converted into the operator's base currency (``settings.base_currency``)
with the exchange rates stored today (orchestrator/ratecards/exchange.py), rounded
half up to 10^-8. A currency without a stored rate is not converted: its sums are
reported under ``unconverted`` and left out of revenue/cost/profit. Profit = revenue -
cost (both converted the same way).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.billing.models import Cdr
from orchestrator.billing.search import (
    CdrFilter,
    conditions,
    iso,
    parse_id,
    parse_period,
)
from orchestrator.carriers.models import Carrier
from orchestrator.customers.models import Customer
from orchestrator.errors import ValidationFailed
from orchestrator.ratecards import exchange
from orchestrator.ratecards.models import Rate
from orchestrator.ratecards.money import format_units

GROUPS = ("customer", "carrier", "destination", "hour", "day")
TIME_GROUPS = ("hour", "day")
MAX_BUCKETS = 2000           # hour buckets: 83 days; day buckets: 5 years
DEFAULT_PERIOD = timedelta(days=1)
UNKNOWN = "(none)"


@dataclass(frozen=True)
class StatsQuery:
    start: datetime
    end: datetime
    group_by: str
    customer_id: int | None = None
    carrier_id: int | None = None

    def as_filter(self) -> CdrFilter:
        return CdrFilter(start=self.start, end=self.end, customer_id=self.customer_id,
                         carrier_id=self.carrier_id)


@dataclass
class StatsRow:
    """One group's figures; money in units (10^-8) of the base currency."""

    key: str                 # customer/carrier id, prefix, or bucket start (ISO, UTC)
    label: str
    attempts: int = 0
    answered: int = 0
    duration_ms: int = 0     # sum over answered calls
    pdd_ms_sum: int = 0
    pdd_count: int = 0
    revenue: int = 0
    cost: int = 0
    unrated: int = 0         # answered attempts not rated yet (charges 0)

    @property
    def asr(self) -> float:
        """Answered / attempts, in percent."""
        return round(100 * self.answered / self.attempts, 2) if self.attempts else 0.0

    @property
    def acd(self) -> float:
        """Mean duration of answered calls, seconds."""
        return round(self.duration_ms / self.answered / 1000, 1) if self.answered else 0.0

    @property
    def pdd(self) -> float:
        """Mean post-dial delay of the attempts that had one, seconds."""
        return round(self.pdd_ms_sum / self.pdd_count / 1000, 2) if self.pdd_count else 0.0

    @property
    def minutes(self) -> float:
        return round(self.duration_ms / 60000, 2)

    @property
    def profit(self) -> int:
        return self.revenue - self.cost

    def add(self, other: StatsRow) -> None:
        for name in ("attempts", "answered", "duration_ms", "pdd_ms_sum", "pdd_count",
                     "revenue", "cost", "unrated"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "attempts": self.attempts,
                "answered": self.answered, "asr": self.asr, "acd": self.acd,
                "pdd": self.pdd, "minutes": self.minutes,
                "revenue": format_units(self.revenue), "cost": format_units(self.cost),
                "profit": format_units(self.profit), "unrated": self.unrated}


@dataclass
class Stats:
    query: StatsQuery
    currency: str
    rows: list[StatsRow]
    total: StatsRow
    unconverted: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"from": iso(self.query.start), "to": iso(self.query.end),
                "group_by": self.query.group_by, "currency": self.currency,
                "rows": [r.as_dict() for r in self.rows], "total": self.total.as_dict(),
                "unconverted": {cur: {k: format_units(v) for k, v in sums.items()}
                                for cur, sums in sorted(self.unconverted.items())}}


def parse_query(raw: Any, now: datetime | None = None) -> StatsQuery:
    """A query from text values: from, to, group_by, customer_id, carrier_id."""
    errors: dict[str, list[str]] = {}
    group_by = str(raw.get("group_by") or "customer").strip().lower()
    if group_by not in GROUPS:
        errors["group_by"] = [f"{group_by[:20]!r} is not a grouping: one of "
                              f"{', '.join(GROUPS)}"]
    values: dict[str, Any] = {}
    # default end: the end of the current hour, so that the last 24 h are 24 whole hours
    current = now if now is not None else datetime.now(UTC)
    end_of_hour = current.replace(minute=0, second=0, microsecond=0) + timedelta(
        hours=1 if (current.minute, current.second, current.microsecond) != (0, 0, 0) else 0)
    for key, check in (("period", lambda: parse_period(raw, end_of_hour, DEFAULT_PERIOD)),
                       ("customer_id", lambda: parse_id(raw.get("customer_id"),
                                                        "customer_id")),
                       ("carrier_id", lambda: parse_id(raw.get("carrier_id"),
                                                       "carrier_id"))):
        try:
            values[key] = check()
        except ValidationFailed as exc:
            for name, messages in exc.errors.items():
                errors.setdefault(name, []).extend(messages)
    if not errors and group_by in TIME_GROUPS:
        start, end = values["period"]
        step = bucket_step(group_by)
        if (end - start) / step > MAX_BUCKETS:
            errors["group_by"] = [f"the period has more than {MAX_BUCKETS} {group_by}s: "
                                  "group by day, or choose a shorter period"]
    if errors:
        raise ValidationFailed(errors)
    start, end = values.pop("period")
    return StatsQuery(start=start, end=end, group_by=group_by, **values)


def bucket_step(group_by: str) -> timedelta:
    return timedelta(hours=1) if group_by == "hour" else timedelta(days=1)


def _bucket(session: Session, group_by: str) -> Any:
    """The SQL expression of a CDR's hour/day bucket (UTC); ``_bucket_key`` makes it the
    text key 'YYYY-MM-DD HH:00'. Cheap per row: a timestamp truncation on PostgreSQL,
    a prefix of the stored text on SQLite ('YYYY-MM-DD HH:MM:SS.ffffff')."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc(group_by, func.timezone("UTC", Cdr.start_at))
    return func.substr(Cdr.start_at, 1, 13 if group_by == "hour" else 10)


def _bucket_key(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:00")
    text = str(value)
    return f"{text[:10]} {text[11:13] or '00'}:00"


def _key_column(session: Session, group_by: str) -> Any:
    if group_by == "customer":
        return Cdr.customer_id
    if group_by == "carrier":
        return Cdr.carrier_id
    if group_by == "destination":
        return Cdr.sell_prefix
    return _bucket(session, group_by)


def _aggregate(session: Session, query: StatsQuery) -> list[Any]:
    """Per (group, sell currency, buy currency): the sums, in one GROUP BY query."""
    key = _key_column(session, query.group_by).label("key")
    answered = Cdr.code == 200
    columns = [
        key, Cdr.sell_currency, Cdr.buy_currency,
        func.count().label("attempts"),
        func.sum(case((answered, 1), else_=0)).label("answered"),
        func.sum(case((answered, Cdr.duration_ms), else_=0)).label("duration_ms"),
        func.sum(func.coalesce(Cdr.pdd_ms, 0)).label("pdd_ms_sum"),
        func.count(Cdr.pdd_ms).label("pdd_count"),
        func.sum(Cdr.sell_charge).label("revenue"),
        func.sum(Cdr.buy_charge).label("cost"),
        func.sum(case((answered & Cdr.rated_at.is_(None), 1), else_=0)).label("unrated"),
    ]
    if query.group_by == "destination":
        columns.append(func.max(Cdr.customer_card_revision_id).label("revision"))
    stmt = (select(*columns).where(*conditions(query.as_filter()))
            .group_by(key, Cdr.sell_currency, Cdr.buy_currency))
    return list(session.execute(stmt))


class _Converter:
    """Money of one currency into the base currency, at today's stored rates."""

    def __init__(self, session: Session, base: str) -> None:
        self.session, self.base = session, base
        self._rates: dict[str, Fraction | None] = {}

    def rate(self, currency: str) -> Fraction | None:
        if currency not in self._rates:
            self._rates[currency] = exchange.per_base(self.session, currency, self.base)
        return self._rates[currency]

    def convert(self, units: int, currency: str) -> int | None:
        if not units:
            return 0
        per_base = self.rate(currency) if currency else None
        if per_base is None:
            return None
        exact = Fraction(units) / per_base
        sign = -1 if exact < 0 else 1
        return sign * int(abs(exact) + Fraction(1, 2))  # half up, away from zero


def _names(session: Session, model: Any, ids: Sequence[Any]) -> dict[Any, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    stmt = select(model.id, model.name).where(model.id.in_(wanted))
    return {ident: name for ident, name in session.execute(stmt)}


def _destination_names(session: Session, pairs: dict[str, int | None]) -> dict[str, str]:
    """The rate's name of each prefix in the latest card revision it was rated with."""
    wanted = [(rev, prefix) for prefix, rev in pairs.items() if rev is not None and prefix]
    names: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        stmt = select(Rate.prefix, Rate.name).where(
            Rate.revision_id.in_({r for r, _ in chunk}),
            Rate.prefix.in_({p for _, p in chunk}))
        for prefix, name in session.execute(stmt):
            if name and pairs.get(prefix) is not None:
                names.setdefault(prefix, name)
    return names


def _label_rows(session: Session, query: StatsQuery, rows: dict[Any, StatsRow],
                revisions: dict[str, int | None]) -> None:
    if query.group_by in ("customer", "carrier"):
        model = Customer if query.group_by == "customer" else Carrier
        names = _names(session, model, list(rows))
        for ident, row in rows.items():
            row.label = names.get(ident, f"#{ident}") if ident is not None else UNKNOWN
    elif query.group_by == "destination":
        names = _destination_names(session, revisions)
        for prefix, row in rows.items():
            row.label = (f"{prefix} {names[prefix]}" if prefix in names
                         else prefix or "(not rated)")


def _time_rows(query: StatsQuery, rows: dict[Any, StatsRow]) -> list[StatsRow]:
    """Every bucket of the period, empty ones included (charts need them)."""
    step = bucket_step(query.group_by)
    start = query.start.replace(minute=0, second=0, microsecond=0)
    if query.group_by == "day":
        start = start.replace(hour=0)
    out: list[StatsRow] = []
    moment = start
    while moment < query.end:
        text = moment.strftime("%Y-%m-%d %H:00")
        row = rows.get(text) or StatsRow(key="", label="")
        row.key = iso(moment)
        row.label = text if query.group_by == "hour" else text[:10]
        out.append(row)
        moment += step
    return out


def statistics(session: Session, actor: Actor, query: StatsQuery, base: str) -> Stats:
    """The figures of ``query``; money converted into ``base`` (see module doc)."""
    actor.require("read")
    converter = _Converter(session, base)
    rows: dict[Any, StatsRow] = {}
    revisions: dict[str, int | None] = {}
    unconverted: dict[str, dict[str, int]] = {}
    for found in _aggregate(session, query):
        key = _bucket_key(found.key) if query.group_by in TIME_GROUPS else found.key
        part = StatsRow(key=str(key) if key is not None else "", label="",
                        attempts=found.attempts, answered=int(found.answered or 0),
                        duration_ms=int(found.duration_ms or 0),
                        pdd_ms_sum=int(found.pdd_ms_sum or 0), pdd_count=found.pdd_count,
                        unrated=int(found.unrated or 0))
        for side, currency, amount in (("revenue", found.sell_currency, found.revenue),
                                       ("cost", found.buy_currency, found.cost)):
            value = converter.convert(int(amount or 0), currency)
            if value is None:
                sums = unconverted.setdefault(currency or "?", {"revenue": 0, "cost": 0})
                sums[side] += int(amount or 0)
            else:
                setattr(part, side, value)
        if query.group_by == "destination":
            revisions[key] = max(filter(None, (revisions.get(key), found.revision)),
                                 default=None)
        if key in rows:
            rows[key].add(part)
        else:
            rows[key] = part
    total = StatsRow(key="total", label="Total")
    for row in rows.values():
        total.add(row)
    if query.group_by in TIME_GROUPS:
        ordered = _time_rows(query, rows)
    else:
        _label_rows(session, query, rows, revisions)
        ordered = sorted(rows.values(), key=lambda r: (-r.attempts, r.label))
    return Stats(query=query, currency=base, rows=ordered, total=total,
                 unconverted=unconverted)


def series_bucket(query: StatsQuery) -> str:
    """The bucket of the charts next to a grouped table: hours up to 3 days, else days."""
    if query.group_by in TIME_GROUPS:
        return query.group_by
    return "hour" if query.end - query.start <= timedelta(days=3) else "day"
