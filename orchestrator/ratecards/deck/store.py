"""Step 5 of an import, and the way back: canonical frames <-> the ``rates`` table.

Bulk only: on SQLite the rows go through the DBAPI cursor's ``executemany`` in
chunks of tuples (no ORM objects, no per-row statements from Python); on PostgreSQL
with psycopg 3 through ``COPY``. Everything runs in the caller's transaction on the
given SQLAlchemy ``Connection``: the caller commits (or rolls back) and writes the
revision row (state, ``row_count`` = the returned count) after the rates.

``rates`` is ``WITHOUT ROWID`` with primary key (revision_id, prefix) on SQLite: a
prefix search is a range on that key, and reading a revision in prefix order is a
scan of one contiguous key range.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from orchestrator.ratecards.deck.validate import CANONICAL_SCHEMA, COLUMNS
from orchestrator.ratecards.money import units_from_decimal

CHUNK_ROWS = 50_000
_SELECT = ", ".join(COLUMNS)


def _dbapi(connection: Connection) -> Any:
    """The driver connection under ``connection``, inside its (auto-begun)
    transaction so that the caller's commit/rollback covers what we do on it."""
    if not connection.in_transaction():
        connection.begin()
    return connection.connection.dbapi_connection


def write_rates(connection: Connection, revision_id: int, frame: pl.DataFrame, *,
                chunk_rows: int = CHUNK_ROWS) -> int:
    """Insert the canonical ``frame`` (plus ``candidates`` if it has that column) as
    the rates of ``revision_id``; returns the number of rows. The revision must have
    no rates yet (the primary key refuses a prefix twice)."""
    columns = [*COLUMNS, *(["candidates"] if "candidates" in frame.columns else [])]
    rows = frame.select(pl.lit(revision_id, pl.Int64).alias("revision_id"), *columns)
    names = ", ".join(rows.columns)
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        cursor = _dbapi(connection).cursor()
        try:
            with cursor.copy(f"COPY rates ({names}) FROM STDIN") as copy:
                for chunk in rows.iter_slices(chunk_rows):
                    for row in chunk.iter_rows():
                        copy.write_row(row)
        finally:
            cursor.close()
        return rows.height
    if connection.dialect.name == "sqlite":
        insert = f"INSERT INTO rates ({names}) VALUES ({', '.join('?' * rows.width)})"
        cursor = _dbapi(connection).cursor()
        try:
            for chunk in rows.iter_slices(chunk_rows):
                cursor.executemany(insert, chunk.rows())
        except connection.dialect.loaded_dbapi.Error as exc:
            # The same exception types as through SQLAlchemy (IntegrityError, ...).
            raise DBAPIError.instance(insert, None, exc,
                                      connection.dialect.loaded_dbapi.Error) from exc
        finally:
            cursor.close()
        return rows.height
    statement = text(f"INSERT INTO rates ({names}) VALUES ("
                     + ", ".join(f":{c}" for c in rows.columns) + ")")
    for chunk in rows.iter_slices(chunk_rows):
        connection.execute(statement, chunk.to_dicts())
    return rows.height


def _frame(rows: list[Any], with_candidates: bool) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = dict(CANONICAL_SCHEMA)
    if with_candidates:
        schema["candidates"] = pl.String()
    return pl.DataFrame(rows, schema=schema, orient="row")


def read_rates(connection: Connection, revision_id: int, *,
               with_candidates: bool = False) -> pl.DataFrame:
    """The rates of ``revision_id`` as a canonical frame, in prefix order."""
    select = _SELECT + (", candidates" if with_candidates else "")
    if connection.dialect.name == "sqlite":
        cursor = _dbapi(connection).cursor()
        try:
            cursor.execute(f"SELECT {select} FROM rates WHERE revision_id = ? "
                           "ORDER BY prefix", (revision_id,))
            rows = cursor.fetchall()
        finally:
            cursor.close()
    else:
        rows = [tuple(r) for r in connection.execute(
            text(f"SELECT {select} FROM rates WHERE revision_id = :r ORDER BY prefix"),
            {"r": revision_id})]
    return _frame(rows, with_candidates)


def prefix_range(prefix: str) -> tuple[str, str]:
    """Keys ``lo <= p < hi`` of the prefixes that start with ``prefix`` (digits end
    at ``9``; ``:`` is the next character, so ``prefix + ':'`` bounds them all)."""
    return prefix, prefix + ":"


def page_rates(connection: Connection, revision_id: int, *, prefix: str = "",
               name: str = "", offset: int = 0, limit: int = 50,
               known_total: int | None = None) -> tuple[pl.DataFrame, int]:
    """One page of a revision's rates in prefix order, and how many rows match.

    ``prefix``: rows whose prefix starts with these digits, as a range on the
    primary key (index seek, also for the count). ``name``: case-insensitive
    substring of the destination name (a scan of the revision's rows). Without a
    search the count is a scan of the revision's key range; pass ``known_total``
    (``rate_revisions.row_count``) to skip it.
    """
    where = ["revision_id = :r"]
    params: dict[str, Any] = {"r": revision_id, "limit": max(limit, 0),
                              "offset": max(offset, 0)}
    prefix = prefix.strip()
    if prefix:
        where.append("prefix >= :lo AND prefix < :hi")
        params["lo"], params["hi"] = prefix_range(prefix)
    if name.strip():
        escaped = (name.strip().lower().replace("\\", "\\\\").replace("%", "\\%")
                   .replace("_", "\\_"))
        where.append("lower(name) LIKE :pattern ESCAPE '\\'")
        params["pattern"] = f"%{escaped}%"
    condition = " AND ".join(where)
    rows = [tuple(r) for r in connection.execute(
        text(f"SELECT {_SELECT} FROM rates WHERE {condition} ORDER BY prefix "
             "LIMIT :limit OFFSET :offset"), params)]
    if known_total is not None and not prefix and not name.strip():
        total = known_total
    else:
        total = int(connection.execute(
            text(f"SELECT count(*) FROM rates WHERE {condition}"), params).scalar_one())
    return _frame(rows, False), total


def rates_frame(rates: Mapping[str, str | tuple[str, str]]) -> pl.DataFrame:
    """A canonical frame from a few rates: prefix -> "0.01" per minute, or
    ("0.01", "blocked"); billing 1/1, no connect fee (the demo model, tests)."""
    rows = []
    for prefix, value in sorted(rates.items()):
        rate, status = (value, "active") if isinstance(value, str) else value
        rows.append({"prefix": prefix, "name": f"dest {prefix}",
                     "rate": units_from_decimal(Decimal(rate)), "inter": None,
                     "intra": None, "mcd": 1, "pulse": 1, "connect_fee": 0,
                     "status": status})
    return pl.DataFrame(rows, schema=CANONICAL_SCHEMA)
