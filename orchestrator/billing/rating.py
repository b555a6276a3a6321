"""Rating CDRs, both sides (PRODUCT.md §3; operators' view in docs/rating.md).

``rate_pending`` rates every CDR not rated yet; ``rerate`` rates a period again. Both
read the CDRs in batches (keyset on id), rate a batch with polars
(orchestrator/billing/rating_frame.py: no Python loop per CDR), write it back with
one executemany of bound UPDATEs, and in the same transaction hand the change of the
sum of ``customer_charge`` per customer to ``balances.apply_charge_deltas``. The
caller's session owns the transaction (nothing here commits).

* Sell side: the customer card revision the switch routed with
  (``customer_card_revision_id``), longest-prefix match of ``number`` in its rates.
* Buy side: the revision of ``provider_card_id`` in force at ``start_at`` (the one
  with the newest ``activated_at`` at or before it), longest-prefix match.
* A CDR with nothing to rate it with (no revision, no matching prefix) is rated with
  zeros; a CDR whose non-zero charge needs an exchange rate that is not set stays
  unrated (``rated_at`` NULL, counted in ``waiting``) until the rate exists.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import DateTime, bindparam, func, select, text
from sqlalchemy.orm import Session

from orchestrator.billing import balances
from orchestrator.billing.models import Cdr
from orchestrator.billing.rating_frame import (
    CDR_SCHEMA,
    OUTPUT,
    rate_frame,
)
from orchestrator.billing.rating_tables import Rater, TableSource, default_jurisdictions
from orchestrator.customers.models import Customer
from orchestrator.errors import ValidationFailed

logger = logging.getLogger(__name__)
__all__ = ["BATCH", "RatingResult", "check_period", "count_period", "default_jurisdictions",
           "rate_pending", "rerate"]

BATCH = 50_000
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"
_READ = ("SELECT id, customer_id, code, duration_ms, start_at, caller, number, "
         "customer_card_revision_id, provider_card_id, "
         "CASE WHEN rated_at IS NULL THEN 0 ELSE customer_charge END FROM cdrs "
         "WHERE {where} AND id > :last ORDER BY id LIMIT :limit")
_UPDATE_COLUMNS = ("rated_at", *OUTPUT)
Progress = Callable[[int], None]


@dataclass
class RatingResult:
    """``rated`` CDRs written; ``customers`` whose sum of charges changed (``deltas``:
    customer id -> change in units of the customer's currency); ``waiting``: CDRs left
    unrated for want of an exchange rate."""

    rated: int = 0
    customers: set[int] = field(default_factory=set)
    deltas: dict[int, int] = field(default_factory=dict)
    waiting: int = 0


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _naive(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value).replace(tzinfo=None)


def _cursor(session: Session) -> Any:
    """The SQLite driver cursor inside the session's transaction (bulk work without
    SQLAlchemy's per-row overhead, as orchestrator/ratecards/deck/store.py does)."""
    connection = session.connection()
    if not connection.in_transaction():
        connection.begin()
    return connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def _lock(session: Session) -> None:
    """SQLite: take the write lock before reading a batch, so that the CDRs read are
    still as read when written (the collector and a re-rating job may run at once; a
    reader that writes later would otherwise fail, or rate a CDR twice). A no-op
    UPDATE opens the write transaction, waiting up to the busy timeout if another
    connection writes. PostgreSQL: the batch is read FOR UPDATE instead."""
    if session.get_bind().dialect.name == "sqlite":
        cursor = _cursor(session)
        try:
            cursor.execute("UPDATE cdrs SET id = id WHERE 0")
        finally:
            cursor.close()


def _read_batch(session: Session, where: str, params: Mapping[str, Any], last: int,
                limit: int) -> pl.DataFrame:
    sql = _READ.format(where=where)
    values = {**params, "last": last, "limit": limit}
    if session.get_bind().dialect.name == "sqlite":
        cursor = _cursor(session)
        try:
            cursor.execute(sql, {k: _utc(v).strftime(_SQLITE_TIME) if isinstance(v, datetime)
                                 else v for k, v in values.items()})
            rows = cursor.fetchall()
        finally:
            cursor.close()
    else:
        sql += " FOR UPDATE"  # rows re-rated here are not rated by someone else meanwhile
        statement = text(sql).bindparams(*[bindparam(k, type_=DateTime(timezone=True))
                                           for k, v in params.items()
                                           if isinstance(v, datetime)])
        rows = [tuple(r) for r in session.execute(statement, values)]
    if not rows:
        return pl.DataFrame(schema=CDR_SCHEMA)
    if isinstance(rows[0][4], str):  # SQLite: 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC)
        frame = pl.DataFrame(rows, schema=CDR_SCHEMA | {"start_at": pl.String()},
                             orient="row")
        return frame.with_columns(pl.col("start_at").str.to_datetime(
            "%Y-%m-%d %H:%M:%S%.f", time_unit="us"))
    return pl.DataFrame([(*r[:4], _naive(r[4]), *r[5:]) for r in rows], schema=CDR_SCHEMA,
                        orient="row")


def _write(session: Session, rated: pl.DataFrame, now: datetime) -> None:
    ids = rated["id"].to_list()
    if session.get_bind().dialect.name == "sqlite":
        stamp = now.astimezone(UTC).strftime(_SQLITE_TIME)
        cursor = _cursor(session)
        try:
            rows = zip(itertools.repeat(stamp), *[rated[c].to_list() for c in OUTPUT], ids)
            assignments = ", ".join(f"{c} = ?" for c in _UPDATE_COLUMNS)
            # (a temp table + one UPDATE ... FROM measured the same on SQLite 3.40)
            cursor.executemany(f"UPDATE cdrs SET {assignments} WHERE id = ?", rows)
        finally:
            cursor.close()
        return
    statement = text("UPDATE cdrs SET " + ", ".join(f"{c} = :{c}" for c in _UPDATE_COLUMNS)
                     + " WHERE id = :id").bindparams(
        bindparam("rated_at", type_=DateTime(timezone=True)))
    for chunk in rated.select(*OUTPUT, "id").iter_slices(10_000):
        session.execute(statement, [d | {"rated_at": now} for d in chunk.to_dicts()])


def _run(session: Session, where: str, params: Mapping[str, Any], *, batch: int,
         jurisdictions: TableSource, base_currency: str | None,
         progress: Progress | None, each_batch: bool) -> RatingResult:
    """Rate the CDRs matching ``where``. The balance deltas go to the balances once at
    the end, or after each batch when ``each_batch`` (``progress`` may commit)."""
    if batch < 1:
        raise ValueError("batch must be 1 or more")
    session.flush()
    rater = Rater(session, jurisdictions, base_currency)
    result = RatingResult()
    seen = 0

    def read(after: int) -> pl.DataFrame:
        _lock(session)
        return _read_batch(session, where, params, after, batch)

    # One transaction throughout (each_batch False): batch k+1 is read and rated with
    # polars (in a thread: polars releases the GIL) while batch k is written.
    with ThreadPoolExecutor(max_workers=1) as pool:
        cdrs = read(0)
        future = pool.submit(rate_frame, cdrs, rater.tables(cdrs)) \
            if not cdrs.is_empty() else None
        while future is not None:
            last = int(cdrs["id"].max())  # type: ignore[arg-type]
            seen += cdrs.height
            upcoming = read(last) if not each_batch else None
            out = future.result()
            future = None
            if upcoming is not None and not upcoming.is_empty():
                future = pool.submit(rate_frame, upcoming, rater.tables(upcoming))
            done = out.filter("rated")
            _write(session, done, datetime.now(UTC))
            deltas = {int(c): int(d) for c, d in done.filter(pl.col("known_customer"))
                      .group_by("customer_id").agg(pl.col("delta").sum()).iter_rows() if d}
            if deltas and each_batch:
                balances.apply_charge_deltas(session, deltas)
            result.rated += done.height
            result.waiting += out.height - done.height
            for customer, delta in deltas.items():
                result.deltas[customer] = result.deltas.get(customer, 0) + delta
            if progress is not None:
                progress(seen)  # may commit (each_batch): the next batch is read after
            if each_batch:
                upcoming = read(last)
                if not upcoming.is_empty():
                    future = pool.submit(rate_frame, upcoming, rater.tables(upcoming))
            if upcoming is not None:
                cdrs = upcoming
    result.deltas = {c: d for c, d in result.deltas.items() if d}
    result.customers = set(result.deltas)
    if result.deltas and not each_batch:
        balances.apply_charge_deltas(session, result.deltas)
    if result.waiting:
        logger.warning("rating: %d CDR(s) wait for an exchange rate (see currencies)",
                       result.waiting)
    session.expire_all()  # ORM copies of the CDRs now differ from the rows
    return result


def rate_pending(session: Session, *, batch: int = BATCH,
                 jurisdictions: TableSource = None,
                 base_currency: str | None = None) -> RatingResult:
    """Rate every CDR with ``rated_at IS NULL`` (in the caller's transaction).

    ``jurisdictions``: the NPA-NXX table; default ``default_jurisdictions()``, loaded
    only when a matched rate row has inter/intra rates. ``base_currency``: default
    the settings'."""
    return _run(session, "rated_at IS NULL", {}, batch=batch, jurisdictions=jurisdictions,
                base_currency=base_currency, progress=None, each_batch=False)


def check_period(session: Session, start: datetime | None, end: datetime | None,
                 customer_id: int | None) -> tuple[datetime, datetime]:
    """The period of a re-rating, checked: ValidationFailed names each problem."""
    errors: dict[str, list[str]] = {}
    if start is None:
        errors["start"] = ["is required (ISO 8601 time, e.g. 2026-01-01T00:00:00Z)"]
    if end is None:
        errors["end"] = ["is required (ISO 8601 time, e.g. 2026-02-01T00:00:00Z)"]
    if start is not None and end is not None and _utc(end) <= _utc(start):
        errors["end"] = ["must be after start"]
    if customer_id is not None and session.get(Customer, customer_id) is None:
        errors["customer_id"] = [f"no customer with id {customer_id}"]
    if errors:
        raise ValidationFailed(errors)
    assert start is not None and end is not None
    return _utc(start), _utc(end)


def count_period(session: Session, start: datetime, end: datetime,
                 customer_id: int | None) -> int:
    stmt = select(func.count()).select_from(Cdr).where(Cdr.start_at >= start,
                                                       Cdr.start_at < end)
    if customer_id is not None:
        stmt = stmt.where(Cdr.customer_id == customer_id)
    return int(session.scalar(stmt) or 0)


def rerate(session: Session, start: datetime, end: datetime, customer_id: int | None = None,
           *, batch: int = BATCH, jurisdictions: TableSource = None,
           base_currency: str | None = None, progress: Progress | None = None,
           ) -> RatingResult:
    """Rate again every CDR with ``start <= start_at < end`` (of one customer if given),
    rated or not; the balances get the old -> new difference. ``progress(n)`` is
    called after each batch with the number of CDRs read so far."""
    start, end = check_period(session, start, end, customer_id)
    where = "start_at >= :start AND start_at < :end"
    params: dict[str, Any] = {"start": start, "end": end}
    if customer_id is not None:
        where += " AND customer_id = :customer"
        params["customer"] = customer_id
    return _run(session, where, params, batch=batch, jurisdictions=jurisdictions,
                base_currency=base_currency, progress=progress, each_batch=True)
