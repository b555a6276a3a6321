"""CDR search: filters, keyset pages (newest first), one CDR with everything.

Filters arrive as text from the web form, the REST query or the CLI options and are
checked here (``parse_filter``), so the three interfaces refuse the same input with
the same messages. Pages are keyset pages on ``(start_at, id)``, newest first: a page
never counts or skips rows (no OFFSET), so the 1,000th page costs what the first does.
The cursor is opaque text (base64 of the last row's start time and id, and the
direction).

The CSV export is in orchestrator/billing/cdr_export.py.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVarTuple

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.billing.models import Cdr
from orchestrator.carriers.models import Carrier
from orchestrator.customers.models import Customer
from orchestrator.errors import NotFound, ValidationFailed
from orchestrator.media.models import DtmfCount

Ts = TypeVarTuple("Ts")
DEFAULT_PERIOD = timedelta(hours=24)
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_TEXT = 64
RARE_PREFIX_ROWS = 20_000
RESULTS = ("answered", "failed")
FILTER_KEYS = ("from", "to", "customer_id", "carrier_id", "dialled", "caller", "result",
               "call_id")


@dataclass(frozen=True)
class CdrFilter:
    """What to search: ``start_at`` in [start, end), and the optional filters."""

    start: datetime
    end: datetime
    customer_id: int | None = None
    carrier_id: int | None = None
    dialled: str = ""   # prefix of the number as received (``dialled``)
    caller: str = ""    # prefix of the caller (CLI)
    result: str = ""    # "", "answered", "failed" or a SIP code "486"
    call_id: str = ""   # exact Call-ID

    def as_params(self) -> dict[str, str]:
        """The filter as query text (for links: next page, CSV export)."""
        params = {"from": iso(self.start), "to": iso(self.end)}
        for key in ("customer_id", "carrier_id", "dialled", "caller", "result", "call_id"):
            value = getattr(self, key)
            if value not in (None, ""):
                params[key] = str(value)
        return params


@dataclass(frozen=True)
class CdrRow:
    """A CDR with what the pages show next to it."""

    cdr: Cdr
    customer_name: str | None
    carrier_name: str | None
    dtmf_events: int

    def as_dict(self) -> dict[str, Any]:
        out = {column: getattr(self.cdr, column) for column in CDR_COLUMNS}
        out.update(customer_name=self.customer_name, carrier_name=self.carrier_name,
                   dtmf_events=self.dtmf_events)
        return out


@dataclass(frozen=True)
class CdrPage:
    items: Sequence[CdrRow]
    next_cursor: str | None   # older rows
    prev_cursor: str | None   # newer rows
    limit: int


CDR_COLUMNS: tuple[str, ...] = tuple(c.key for c in Cdr.__table__.columns)


def iso(value: datetime) -> str:
    return as_utc(value).isoformat().replace("+00:00", "Z")


def as_utc(value: datetime) -> datetime:
    """Naive datetimes (SQLite hands them back, forms send them) are UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_time(raw: Any, field: str) -> datetime | None:
    """ISO 8601 date or date-time (``2026-01-05``, ``2026-01-05T12:00``, ``...Z``,
    ``...+02:00``); no offset means UTC. Empty -> None."""
    if isinstance(raw, datetime):
        return as_utc(raw)
    if isinstance(raw, date):
        return datetime(raw.year, raw.month, raw.day, tzinfo=UTC)
    text = str(raw or "").strip()
    if not text:
        return None
    try:
        value = as_utc(datetime.fromisoformat(text.replace(" ", "T", 1)
                                              if len(text) > 10 else text))
    except (ValueError, OverflowError):
        raise ValidationFailed.one(field, f"{text[:40]!r} is not a date or time: use ISO "
                                   "8601, e.g. 2026-01-05 or 2026-01-05T12:00:00Z "
                                   "(UTC unless an offset is given)") from None
    if not 1970 <= value.year <= 9000:
        raise ValidationFailed.one(field, f"{text[:40]!r} is out of range (years 1970-9000)")
    return value


def parse_id(raw: Any, field: str) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise ValidationFailed.one(field, "must be a positive whole number")
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValidationFailed.one(field, "must be a positive whole number") from None
    if not 0 < value < 2**63:
        raise ValidationFailed.one(field, "must be a positive whole number")
    return value


def _text(raw: Any, field: str, digits: bool = False) -> str:
    text = str(raw or "").strip()
    if len(text) > MAX_TEXT:
        raise ValidationFailed.one(field, f"must be at most {MAX_TEXT} characters")
    if digits and text and not text.lstrip("+").replace("*", "").replace("#", "").isalnum():
        raise ValidationFailed.one(field, "must be the start of a number (digits, "
                                   "a leading +)")
    return text


def parse_result(raw: Any) -> str:
    text = str(raw or "").strip().lower()
    if text in ("", *RESULTS):
        return text
    if text.isdigit() and 100 <= int(text) <= 699:
        return str(int(text))
    raise ValidationFailed.one("result", f"{text[:20]!r} is not a result: answered, failed "
                               "or a SIP code such as 486")


def parse_period(raw: Mapping[str, Any], now: datetime | None = None,
                 default: timedelta = DEFAULT_PERIOD) -> tuple[datetime, datetime]:
    """``from``/``to``; defaults: to = now, from = to - ``default``. from < to."""
    start = parse_time(raw.get("from"), "from")
    end = parse_time(raw.get("to"), "to")
    if end is None:
        end = as_utc(now) if now is not None else datetime.now(UTC)
        if start is not None and start >= end:
            end = start + default
    if start is None:
        start = end - default
    if start >= end:
        raise ValidationFailed.one("from", f"must be before to ({iso(start)} is not "
                                   f"before {iso(end)})")
    return start, end


def parse_filter(raw: Mapping[str, Any], now: datetime | None = None) -> CdrFilter:
    """A filter from text values (keys of ``FILTER_KEYS``); every bad field is named."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    checks: tuple[tuple[str, Any], ...] = (
        ("period", lambda: parse_period(raw, now)),
        ("customer_id", lambda: parse_id(raw.get("customer_id"), "customer_id")),
        ("carrier_id", lambda: parse_id(raw.get("carrier_id"), "carrier_id")),
        ("dialled", lambda: _text(raw.get("dialled"), "dialled", digits=True)),
        ("caller", lambda: _text(raw.get("caller"), "caller", digits=True)),
        ("result", lambda: parse_result(raw.get("result"))),
        ("call_id", lambda: _text(raw.get("call_id"), "call_id")),
    )
    for key, check in checks:
        try:
            values[key] = check()
        except ValidationFailed as exc:
            for field, messages in exc.errors.items():
                errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationFailed(errors)
    start, end = values.pop("period")
    return CdrFilter(start=start, end=end, **values)


def _prefix(column: Any, prefix: str) -> Any:
    """``column`` starts with ``prefix``: a range an index can use, plus LIKE for exactness
    under any collation."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return and_(column >= prefix, column < upper, column.like(escaped + "%", escape="\\"))


def conditions(flt: CdrFilter, start_at: Any = Cdr.start_at) -> list[Any]:
    """The WHERE terms of a filter (shared by the search, the export and the stats);
    ``start_at``: the column, or an expression of it that no index serves."""
    terms: list[Any] = [start_at >= flt.start, start_at < flt.end]
    if flt.customer_id is not None:
        terms.append(Cdr.customer_id == flt.customer_id)
    if flt.carrier_id is not None:
        terms.append(Cdr.carrier_id == flt.carrier_id)
    if flt.dialled:
        terms.append(_prefix(Cdr.dialled, flt.dialled))
    if flt.caller:
        terms.append(_prefix(Cdr.caller, flt.caller))
    if flt.result == "answered":
        terms.append(Cdr.code == 200)
    elif flt.result == "failed":
        terms.append(Cdr.code != 200)
    elif flt.result:
        terms.append(Cdr.code == int(flt.result))
    if flt.call_id:
        terms.append(Cdr.call_id == flt.call_id)
    return terms


def joined(stmt: Select[*Ts]) -> Select[*Ts]:
    """Customer and carrier names and the DTMF count next to each CDR."""
    return (stmt.outerjoin(Customer, Customer.id == Cdr.customer_id)
            .outerjoin(Carrier, Carrier.id == Cdr.carrier_id)
            .outerjoin(DtmfCount, DtmfCount.call_id == Cdr.call_id))


def row_select() -> Select[Cdr, str | None, str | None, int | None]:
    return joined(select(Cdr, Customer.name, Carrier.name, DtmfCount.events))


# --- cursors -----------------------------------------------------------------------

def encode_cursor(row: Cdr, direction: str) -> str:
    data = json.dumps([iso(row.start_at), row.id, direction], separators=(",", ":"))
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[datetime, int, str]:
    """(start_at, id, "next"|"prev"); a clear error for anything else."""
    try:
        padded = text.strip() + "=" * (-len(text.strip()) % 4)
        start, ident, direction = json.loads(base64.urlsafe_b64decode(padded.encode()))
        when = as_utc(datetime.fromisoformat(start.replace("Z", "+00:00")))
        if direction not in ("next", "prev") or isinstance(ident, bool) \
                or not isinstance(ident, int) or not 0 < ident < 2**63:
            raise ValueError(direction)
    except (ValueError, TypeError, AttributeError, binascii.Error,
            UnicodeDecodeError):
        raise ValidationFailed.one("cursor", "is not a cursor of a CDR page: use the "
                                   "next_cursor/prev_cursor of an answer, or leave it "
                                   "out for the first page") from None
    return when, ident, direction


# --- search ------------------------------------------------------------------------

def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if isinstance(limit, bool) or not 1 <= int(limit) <= MAX_LIMIT:
        raise ValidationFailed.one("limit", f"must be between 1 and {MAX_LIMIT}")
    return int(limit)


def _rare_prefix(session: Session, prefix: str) -> bool:
    """SQLite only: whether few CDRs (of any time) have this dialled prefix.

    SQLite's planner, without value statistics, prefers walking ``start_at`` backwards
    (no sort needed) and testing each row's number: fast when the prefix is common,
    a scan of the whole period when it is rare (0.6 s for 7 days of 1M CDRs). When at
    most ``RARE_PREFIX_ROWS`` numbers have the prefix, reading them through the
    ``dialled`` index and sorting is bounded and faster. PostgreSQL's planner has the
    statistics to choose by itself.
    """
    if session.get_bind().dialect.name != "sqlite":
        return False
    probe = select(Cdr.id).where(_prefix(Cdr.dialled, prefix)).limit(RARE_PREFIX_ROWS + 1)
    found = session.execute(select(func.count()).select_from(probe.subquery())).scalar_one()
    return found <= RARE_PREFIX_ROWS


def search(session: Session, actor: Actor, flt: CdrFilter, cursor: str | None = None,
           limit: int | None = None) -> CdrPage:
    """One page of CDRs, newest first. ``cursor``: a ``next_cursor`` (older rows) or
    ``prev_cursor`` (newer rows) of an earlier page with the same filter."""
    actor.require("read")
    size = check_limit(limit)
    direction = "next"
    # the same value, hidden from SQLite's planner when the number index is the better
    # way in (see _rare_prefix)
    start_at: Any = Cdr.start_at
    if flt.dialled and _rare_prefix(session, flt.dialled):
        start_at = func.coalesce(Cdr.start_at, Cdr.start_at)
    stmt = row_select().where(*conditions(flt, start_at))
    if cursor:
        when, ident, direction = decode_cursor(cursor)
        if direction == "next":
            stmt = stmt.where(start_at <= when, or_(start_at < when, Cdr.id < ident))
        else:
            stmt = stmt.where(start_at >= when, or_(start_at > when, Cdr.id > ident))
    if direction == "next":
        stmt = stmt.order_by(start_at.desc(), Cdr.id.desc())
    else:
        stmt = stmt.order_by(start_at.asc(), Cdr.id.asc())
    rows = [CdrRow(cdr, customer, carrier, events or 0)
            for cdr, customer, carrier, events in session.execute(stmt.limit(size + 1))]
    more = len(rows) > size
    rows = rows[:size]
    if direction == "prev":
        rows.reverse()
        has_newer, has_older = more, True
    else:
        has_newer, has_older = bool(cursor), more
    return CdrPage(
        items=rows,
        next_cursor=encode_cursor(rows[-1].cdr, "next") if rows and has_older else None,
        prev_cursor=encode_cursor(rows[0].cdr, "prev") if rows and has_newer else None,
        limit=size)


def get_cdr(session: Session, actor: Actor, cdr_id: int) -> CdrRow:
    """One CDR with the customer's and carrier's names and its DTMF count."""
    actor.require("read")
    found = session.execute(row_select().where(Cdr.id == cdr_id)).first()
    if found is None:
        raise NotFound("CDR", cdr_id)
    cdr, customer, carrier, events = found
    return CdrRow(cdr, customer, carrier, events or 0)
