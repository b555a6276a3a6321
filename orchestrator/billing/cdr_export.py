"""CSV export of CDRs, streamed: the rows come from a server-side cursor in batches
(``yield_per``) and leave as CSV text chunks, so an export of millions of rows holds
one batch in memory, never the result.

Columns: every column of ``cdrs`` (money as decimal strings of the row's currency,
times in ISO 8601 UTC), then ``customer_name``, ``carrier_name``, ``dtmf_events``.
Rows are in time order (oldest first).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.billing.models import Cdr
from orchestrator.billing.search import CDR_COLUMNS, CdrFilter, conditions, iso, joined
from orchestrator.carriers.models import Carrier
from orchestrator.customers.models import Customer
from orchestrator.media.models import DtmfCount
from orchestrator.ratecards.money import format_units

BATCH = 2000          # rows fetched per round trip of the cursor
CHUNK_ROWS = 500      # rows per yielded text chunk
MONEY_COLUMNS = frozenset({"sell_rate", "sell_charge", "customer_charge", "buy_rate",
                           "buy_charge", "profit"})
HEADER: tuple[str, ...] = (*CDR_COLUMNS, "customer_name", "carrier_name", "dtmf_events")


def cell(column: str, value: Any) -> str:
    """CSV text of one value: money as decimals, times in UTC, never a spreadsheet
    formula (a leading =, @, tab, or a +/- not followed by a number gets a ')."""
    if value is None:
        return ""
    if column in MONEY_COLUMNS:
        return format_units(int(value))
    if isinstance(value, datetime):
        return iso(value)
    text = str(value)
    first = text[:1]
    if first in ("=", "@", "\t", "\r") or (
            first in ("+", "-") and not text[1:].replace(".", "", 1).isdigit()):
        return "'" + text
    return text


def _money(value: Any) -> str:
    return "" if value is None else format_units(int(value))


def _time(value: Any) -> str:
    return "" if value is None else iso(value)


def _number(value: Any) -> str:
    return "" if value is None else str(value)


def _text(value: Any) -> str:
    return cell("", value)


def _converter(column: Any) -> Callable[[Any], str]:
    """The cell function of one column, chosen once (the export's inner loop)."""
    if column.key in MONEY_COLUMNS:
        return _money
    if isinstance(column.type, DateTime):
        return _time
    if isinstance(column.type, Integer | BigInteger):
        return _number
    return _text


CONVERTERS: tuple[Callable[[Any], str], ...] = (
    *(_converter(c) for c in Cdr.__table__.columns), _text, _text,
    lambda events: str(events or 0))


def export_csv(session: Session, actor: Actor, flt: CdrFilter) -> Iterator[str]:
    """CSV text chunks of every CDR of the filter (header first). The permission is
    checked now, before the caller starts streaming."""
    actor.require("read")
    return _chunks(session, flt)


def _chunks(session: Session, flt: CdrFilter) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    table = Cdr.__table__
    stmt = (joined(select(*[table.c[c] for c in CDR_COLUMNS], Customer.name, Carrier.name,
                          DtmfCount.events))
            .where(*conditions(flt))
            .order_by(Cdr.start_at.asc(), Cdr.id.asc())
            .execution_options(yield_per=BATCH))
    pending = 0
    for row in session.execute(stmt):
        writer.writerow([convert(value) for convert, value in zip(CONVERTERS, row,
                                                                  strict=True)])
        pending += 1
        if pending >= CHUNK_ROWS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    tail = buffer.getvalue()
    if tail:
        yield tail


def export_filename(flt: CdrFilter) -> str:
    return f"cdrs_{flt.start:%Y%m%dT%H%M}_{flt.end:%Y%m%dT%H%M}.csv"
