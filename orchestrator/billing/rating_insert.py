"""Rating CDRs as the collector inserts them: no UPDATE of the rows afterwards.

The collector (orchestrator/billing/collector.py) hands each batch of parsed lines
(cdr_format.COLUMNS) to ``rate_new``, which rates it with the same polars code as
``rating.rate_pending`` (rating_frame.rate_frame) and returns it with the rating
columns filled and ``rated_at`` set. A CDR that waits for an exchange rate is inserted
unrated (``rated_at`` NULL, rating columns at their defaults) and rated later by
``rate_pending``. After the insert, ``new_charges`` sums what the inserted rows cost
per customer, for the running totals (balances.apply_charge_deltas) in the same
transaction. Rating at insert avoids the UPDATE of every row, which costs more than
the rating itself on SQLite (docs/performance.md).
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
from sqlalchemy import text
from sqlalchemy.orm import Session

from orchestrator.billing.rating_frame import CDR_SCHEMA, OUTPUT, rate_frame
from orchestrator.billing.rating_tables import Rater, TableSource

# What an unrated CDR holds in the rating columns (the table's defaults).
UNRATED: dict[str, object] = {
    "jurisdiction": "", "sell_prefix": "", "sell_rate": None, "sell_currency": "",
    "sell_billed": 0, "sell_charge": 0, "customer_charge": 0, "buy_revision_id": None,
    "buy_prefix": "", "buy_rate": None, "buy_currency": "", "buy_billed": 0,
    "buy_charge": 0, "profit": 0,
}


def rate_new(session: Session, frame: pl.DataFrame, *, jurisdictions: TableSource = None,
             base_currency: str | None = None) -> pl.DataFrame:
    """``frame`` (the cdrs columns of new CDRs) with ``rated_at`` and the rating
    columns."""
    if frame.is_empty():
        return frame.with_columns(pl.lit(None, pl.Datetime("us", "UTC")).alias("rated_at"),
                                  *[pl.lit(v).alias(k) for k, v in UNRATED.items()])
    indexed = frame.with_row_index("id").with_columns(pl.col("id").cast(pl.Int64))
    cdrs = indexed.select(
        "id", "customer_id", "code", "duration_ms",
        pl.col("start_at").dt.replace_time_zone(None), "caller", "number",
        pl.col("customer_card_revision_id").alias("sell_rev"), "provider_card_id",
        pl.lit(0, pl.Int64).alias("old_charge")).cast(CDR_SCHEMA)  # type: ignore[arg-type]
    rater = Rater(session, jurisdictions, base_currency)
    out = rate_frame(cdrs, rater.tables(cdrs)).select("id", "rated", *OUTPUT)
    now = datetime.now(UTC)
    rated = pl.col("rated").fill_null(False)
    joined = indexed.join(out, on="id", how="left", maintain_order="left")
    return joined.with_columns(
        pl.when(rated).then(pl.lit(now, pl.Datetime("us", "UTC"))).otherwise(None)
        .alias("rated_at"),
        *[pl.when(rated).then(pl.col(name)).otherwise(pl.lit(UNRATED[name]))
          .alias(name) for name in OUTPUT],
    ).drop("id", "rated")


def last_id(session: Session) -> int:
    """The highest CDR id now (the rows inserted after it are this batch's)."""
    return int(session.execute(text("SELECT coalesce(max(id), 0) FROM cdrs")).scalar_one())


def new_charges(session: Session, after_id: int) -> dict[int, int]:
    """customer id -> SUM(customer_charge) of the rated CDRs inserted after ``after_id``
    (customers that exist; a CDR of a deleted customer moves no balance)."""
    rows = session.execute(text(
        "SELECT c.customer_id, SUM(c.customer_charge) FROM cdrs c "
        "JOIN customers k ON k.id = c.customer_id "
        "WHERE c.id > :after AND c.rated_at IS NOT NULL GROUP BY c.customer_id"),
        {"after": after_id})
    return {int(cid): int(total) for cid, total in rows if total}
