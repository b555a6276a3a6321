"""What a batch of CDRs is rated with, read from the database (for rating.py): the
customer cards of the sell revisions, the provider card revisions in force, the rate
rows (kept between runs), the customers' currencies, exchange rates, the NPA-NXX table.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.billing.rating_frame import (
    BUY_SCHEMA,
    CUSTOMER_SCHEMA,
    RATE_SCHEMA,
    SELL_SCHEMA,
    Tables,
    in_force,
)
from orchestrator.customers.models import Customer
from orchestrator.ratecards import jurisdiction
from orchestrator.ratecards.deck.store import read_rates
from orchestrator.ratecards.jurisdiction import Jurisdictions
from orchestrator.ratecards.models import CustomerCard, ExchangeRate, ProviderCard, RateRevision

CACHE_ROWS = 5_000_000  # rate rows kept between runs (about 100 bytes each)
# The NPA-NXX table, or a function that loads it (called only when a rate row needs it)
TableSource = Jurisdictions | Callable[[], Jurisdictions] | None


def _naive(value: datetime | None) -> datetime | None:
    """UTC without tzinfo (polars' datetime columns here are naive UTC)."""
    if value is None:
        return None
    return (value.replace(tzinfo=UTC) if value.tzinfo is None
            else value.astimezone(UTC)).replace(tzinfo=None)


_loaded: dict[Path, tuple[float, Jurisdictions]] = {}


def default_jurisdictions(var_dir: Path | None = None) -> Jurisdictions:
    """The NPA-NXX table of ``settings.var_dir`` (reloaded when the upload changes)."""
    if var_dir is None:
        from orchestrator.settings import Settings
        var_dir = Settings().var_dir
    upload = var_dir / jurisdiction.TABLE_FILE
    stamp = upload.stat().st_mtime if upload.exists() else 0.0
    cached = _loaded.get(var_dir)
    if cached is None or cached[0] != stamp:
        cached = (stamp, jurisdiction.load(var_dir))
        _loaded[var_dir] = cached
    return cached[1]


def _base_currency() -> str:
    from orchestrator.settings import Settings
    return Settings().base_currency


class Rater:
    """What the batches of one run share: exchange rates, the NPA-NXX table."""

    def __init__(self, session: Session, jurisdictions: TableSource,
                 base_currency: str | None) -> None:
        self.session = session
        self._source = jurisdictions
        self._jurisdictions = jurisdictions if isinstance(jurisdictions, Jurisdictions) \
            else None
        self._base = base_currency
        self._per_base: dict[str, Fraction] | None = None

    def per_base(self) -> dict[str, Fraction]:
        if self._per_base is None:
            base = self._base or _base_currency()
            rows = self.session.execute(select(ExchangeRate.currency, ExchangeRate.per_base))
            self._per_base = {c: Fraction(Decimal(v)) for c, v in rows} | {base: Fraction(1)}
        return self._per_base

    def rates(self, revisions: Mapping[int, datetime | None]) -> pl.DataFrame:
        """The rate rows of these revisions (id -> created_at, part of the cache key;
        None: a draft, whose rows may still change, read every time)."""
        connection = self.session.connection()
        url = connection.engine.url.render_as_string(hide_password=True)
        frames = []
        for rev in sorted(revisions):
            key = (url, rev, str(revisions[rev]))
            frame = _cache.get(key) if revisions[rev] is not None else None
            if frame is None:
                frame = read_rates(connection, rev).select(
                    pl.lit(rev, pl.Int64).alias("rev"),
                    *[pl.col(c).cast(t) for c, t in RATE_SCHEMA.items() if c != "rev"])
                if revisions[rev] is not None:
                    _cache.put(key, frame)
            frames.append(frame)
        return pl.concat(frames) if frames else pl.DataFrame(schema=RATE_SCHEMA)

    def jurisdictions(self, rates: pl.DataFrame) -> Jurisdictions | None:
        if self._jurisdictions is None and rates.select(
                pl.col("inter").is_not_null().any() | pl.col("intra").is_not_null().any()
        ).item():
            self._jurisdictions = (default_jurisdictions() if self._source is None
                                   else self._source())  # type: ignore[operator]
        return self._jurisdictions

    def tables(self, cdrs: pl.DataFrame) -> Tables:
        session = self.session
        sell_ids = set(cdrs["sell_rev"].drop_nulls().to_list())
        card_ids = set(cdrs["provider_card_id"].drop_nulls().to_list())
        customer_ids = set(cdrs["customer_id"].drop_nulls().to_list())
        sell = session.execute(
            select(RateRevision.id, CustomerCard.currency, CustomerCard.precision,
                   CustomerCard.rounding, RateRevision.created_at, RateRevision.state)
            .join(CustomerCard, CustomerCard.id == RateRevision.customer_card_id)
            .where(RateRevision.id.in_(sell_ids))).all() if sell_ids else []
        buy = session.execute(
            select(RateRevision.provider_card_id, RateRevision.activated_at, RateRevision.id,
                   ProviderCard.currency, RateRevision.created_at)
            .join(ProviderCard, ProviderCard.id == RateRevision.provider_card_id)
            .where(RateRevision.provider_card_id.in_(card_ids),
                   RateRevision.activated_at.is_not(None))).all() if card_ids else []
        customers = session.execute(select(Customer.id, Customer.currency).where(
            Customer.id.in_(customer_ids))).all() if customer_ids else []
        buy_revisions = pl.DataFrame([(r[0], _naive(r[1]), r[2], r[3]) for r in buy],
                                     schema=BUY_SCHEMA, orient="row")
        needed = set(in_force(cdrs, buy_revisions)["buy_rev"].drop_nulls().to_list())
        rates = self.rates({r[0]: (r[4] if r[5] != "draft" else None) for r in sell}
                           | {r[2]: r[4] for r in buy if r[2] in needed})
        return Tables(
            rates=rates,
            sell_cards=pl.DataFrame([tuple(r)[:4] for r in sell], schema=SELL_SCHEMA,
                                    orient="row"),
            buy_revisions=buy_revisions,
            customers=pl.DataFrame([tuple(r) for r in customers], schema=CUSTOMER_SCHEMA,
                                   orient="row"),
            per_base=self.per_base(), jurisdictions=self.jurisdictions(rates))


class _RateCache:
    """Rate rows of revisions, kept between runs (the collector rates every few
    seconds): a revision's rows never change once it is activated. Keyed by database,
    revision id and creation time; least recently used revisions go first beyond
    ``max_rows``."""

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self._frames: OrderedDict[tuple[str, int, str], pl.DataFrame] = OrderedDict()
        self._rows = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int, str]) -> pl.DataFrame | None:
        with self._lock:
            frame = self._frames.get(key)
            if frame is not None:
                self._frames.move_to_end(key)
            return frame

    def put(self, key: tuple[str, int, str], frame: pl.DataFrame) -> None:
        with self._lock:
            if key in self._frames:
                return
            self._frames[key] = frame
            self._rows += frame.height
            while self._rows > self.max_rows and len(self._frames) > 1:
                _, dropped = self._frames.popitem(last=False)
                self._rows -= dropped.height

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()
            self._rows = 0


_cache = _RateCache(CACHE_ROWS)
