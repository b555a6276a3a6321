"""Rating throughput (issue 7): ``rate_pending`` over N CDRs against ~50k-prefix cards.

1. A freshly migrated SQLite database in a temp dir: a customer card revision of
   ~50,000 prefixes (country codes + 1-4 digits, US NPAs with inter/intra rates, mixed
   mcd/pulse/connect fees), a provider card with two revisions (activated a day
   apart) of the same prefixes, 200 customers (a quarter in EUR), an EUR rate.
2. N CDRs (default 1,000,000) inserted with executemany: 60 % answered with 1 s to
   20 min, a quarter of the numbers and half of the callers in the US, starts spread
   over two days (both buy revisions are in force for some), ``rated_at`` NULL.
3. **End to end**: ``rate_pending`` (read, LPM both sides, jurisdiction, charges,
   conversion, executemany UPDATE, balance deltas) then commit; CDRs/s. The line
   after splits the time: reading the CDRs, reading the cards (tables), the pure
   polars part (``rate_frame``), the UPDATEs, the rest.
4. **Pure polars**: ``rate_frame`` alone on the same CDRs in batches of 50,000 with
   the tables already built (best of 3); CDRs/s.

Target: >= 100,000 CDRs/s end to end.

    .venv/bin/python bench/rating.py [--cdrs 1000000] [--prefixes 50000] [--batch 50000]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ratecards_io import CODES, machine

import orchestrator.models  # noqa: F401  (every table's mapper)
from orchestrator.actor import Actor
from orchestrator.billing import balances, rating, rating_frame, rating_tables
from orchestrator.carriers import service as carriers
from orchestrator.customers import service as customers
from orchestrator.db import make_engine, session_factory, upgrade
from orchestrator.ratecards import customer_cards, provider_cards, revisions
from orchestrator.ratecards.deck.store import write_rates
from orchestrator.ratecards.deck.validate import CANONICAL_SCHEMA
from orchestrator.ratecards.jurisdiction import Jurisdictions, derive_table
from orchestrator.ratecards.models import ExchangeRate

ADMIN = Actor(None, "bench", "admin")
T0 = datetime(2026, 3, 1, tzinfo=UTC)
NPAS = ["201", "212", "213", "305", "312", "415", "512", "617", "702", "973"]


def prefixes(count: int, rng: random.Random) -> list[str]:
    """~count distinct prefixes: every code, US NPAs, then codes + 1-4 random digits."""
    found = set(CODES) | {"1" + npa for npa in NPAS}
    codes = sorted(CODES)
    while len(found) < count:
        found.add(rng.choice(codes) + str(rng.randrange(10 ** rng.randint(1, 4))))
    return sorted(found)


def deck(prefix_list: list[str], rng: random.Random, scale: float) -> pl.DataFrame:
    rows = []
    for p in prefix_list:
        rate = int(rng.randrange(100_000, 30_000_000) * scale)
        us = p.startswith("1")
        mcd, pulse = rng.choice([(1, 1), (30, 6), (60, 60), (0, 1)])
        rows.append({"prefix": p, "name": f"dest {p}", "rate": rate,
                     "inter": rate * 2 if us else None, "intra": rate * 3 if us else None,
                     "mcd": mcd, "pulse": pulse,
                     "connect_fee": rng.choice([0, 0, 0, 1_500_000]), "status": "active"})
    return pl.DataFrame(rows, schema=CANONICAL_SCHEMA)


def build_world(url: str, prefix_count: int, rng: random.Random) -> dict[str, Any]:
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        session.add(ExchangeRate(currency="EUR", per_base="0.92"))
        carrier = carriers.create_carrier(session, ADMIN, {"name": "Carrier", "currency": "USD"})
        pc = provider_cards.create_provider_card(session, ADMIN, {
            "name": "Deck", "carrier_id": carrier.id, "currency": "USD"})
        cc = customer_cards.create_customer_card(session, ADMIN, {
            "name": "Tariff", "currency": "USD", "parents": [{"provider_card_id": pc.id}]})
        session.flush()
        plist = prefixes(prefix_count, rng)
        connection = session.connection()
        for scale, when in ((1.0, T0 - timedelta(days=30)), (1.1, T0 + timedelta(days=1))):
            rev = revisions.new_revision(session, pc, "bench")
            rev.row_count = write_rates(connection, rev.id, deck(plist, rng, scale))
            session.flush()
            revisions.activate(session, ADMIN, pc, rev.id, now=when)
        sell = revisions.new_revision(session, cc, "bench")
        sell.row_count = write_rates(connection, sell.id, deck(plist, rng, 1.3))
        sell.state, sell.activated_at = "active", T0 - timedelta(days=30)
        ids = [customers.create_customer(session, ADMIN, {
            "name": f"customer {i}", "currency": "EUR" if i % 4 == 0 else "USD"}).id
            for i in range(200)]
        session.flush()
        world = {"prefixes": plist, "sell": sell.id, "provider": pc.id, "customers": ids}
    engine.dispose()
    return world


def insert_cdrs(db: Path, world: dict[str, Any], count: int, rng: random.Random) -> None:
    plist, customers_ = world["prefixes"], world["customers"]
    now = "2026-03-01 00:00:00.000000"
    rows = []
    for i in range(count):
        if rng.random() < 0.25:
            number = "1" + rng.choice(NPAS) + str(rng.randrange(10**7)).zfill(7)
        else:
            number = rng.choice(plist)
            number += str(rng.randrange(10 ** (12 - len(number)))).zfill(12 - len(number))
        caller = ("1" + rng.choice(NPAS) + "5550100") if rng.random() < 0.5 else "441234567"
        answered = rng.random() < 0.6
        start = (T0 + timedelta(seconds=rng.randrange(2 * 86400))).strftime(
            "%Y-%m-%d %H:%M:%S.%f")
        rows.append(("local", f"c{i}", "t", 1, start, now, rng.randrange(1_000, 1_200_000)
                     if answered else 0, 200 if answered else 486, "", "", "", "", caller,
                     number, number, number, "", rng.choice(customers_), world["sell"],
                     world["provider"]))
    sql = ("INSERT INTO cdrs (node, call_id, from_tag, cseq, start_at, end_at, duration_ms, "
           "code, reason, hangup, sip_user, source_ip, caller, dialled, number, routed, "
           "tariff, customer_id, customer_card_revision_id, provider_card_id, tried, media, "
           "media_zone, jurisdiction, sell_prefix, sell_currency, sell_billed, sell_charge, "
           "customer_charge, buy_prefix, buy_currency, buy_billed, buy_charge, profit) VALUES "
           "(" + ", ".join(["?"] * 20) + ", '', '', '', '', '', '', 0, 0, 0, '', '', 0, 0, 0)")
    with sqlite3.connect(db) as conn:
        conn.executemany(sql, rows)


def _cpu() -> float:
    """CPU time of this process (user + system, all threads): close to the wall time
    of an idle machine when the machine is busy with other work."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Timer:
    """Wraps module functions to add up their time."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def wrap(self, module: Any, name: str, label: str) -> None:
        real: Callable[..., Any] = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            mark = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - mark

        setattr(module, name, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cdrs", type=int, default=1_000_000)
    parser.add_argument("--prefixes", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=rating.BATCH)
    args = parser.parse_args()
    print(machine())
    rng = random.Random(42)
    jurisdictions = Jurisdictions(derive_table())
    with tempfile.TemporaryDirectory(prefix="bench-rating-") as tmp:
        db = Path(tmp) / "orchestrator.db"
        url = f"sqlite:///{db}"
        upgrade(url)
        mark = time.perf_counter()
        world = build_world(url, args.prefixes, rng)
        insert_cdrs(db, world, args.cdrs, rng)
        print(f"setup: {len(world['prefixes'])} prefixes x 3 revisions, {args.cdrs} CDRs in "
              f"{time.perf_counter() - mark:.1f} s")

        timer = Timer()
        timer.wrap(rating, "_read_batch", "read CDRs")
        timer.wrap(rating_tables.Rater, "tables", "cards")
        timer.wrap(rating, "rate_frame", "polars")
        timer.wrap(rating, "_write", "UPDATE")
        timer.wrap(balances, "apply_charge_deltas", "balances")
        engine = make_engine(url)
        with session_factory(engine)() as session:
            mark, cpu = time.perf_counter(), _cpu()
            result = rating.rate_pending(session, batch=args.batch,
                                         jurisdictions=jurisdictions, base_currency="USD")
            session.commit()
            total, cpu = time.perf_counter() - mark, _cpu() - cpu
        parts = timer.seconds
        rest = total - sum(parts.values())
        print(f"end to end: {result.rated} CDRs rated in {total:.2f} s = "
              f"{result.rated / total:,.0f} CDRs/s ({len(result.customers)} customers' "
              f"balances moved); process CPU time {cpu:.2f} s = "
              f"{result.rated / cpu:,.0f} CDRs per CPU-second")
        print("  split: " + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items())
              + f", rest {rest:.2f} s (polars runs in a thread beside the reads and "
              "UPDATEs: the parts overlap)")

        with session_factory(engine)() as session:
            rater = rating_tables.Rater(session, jurisdictions, "USD")
            batches = []
            last = 0
            while True:
                cdrs = rating._read_batch(session, "1 = 1", {}, last, args.batch)
                if cdrs.is_empty():
                    break
                last = int(cdrs["id"].max())  # type: ignore[arg-type]
                batches.append((cdrs, rater.tables(cdrs)))
            best = best_cpu = float("inf")
            real_frame = rating_frame.rate_frame
            for _ in range(3):
                mark, cpu = time.perf_counter(), _cpu()
                for cdrs, tables in batches:
                    real_frame(cdrs, tables)
                best = min(best, time.perf_counter() - mark)
                best_cpu = min(best_cpu, _cpu() - cpu)
            rated_sum = session.execute(text(
                "SELECT count(*), sum(sell_charge), sum(buy_charge), "
                "sum(jurisdiction != '') FROM cdrs WHERE rated_at IS NOT NULL")).one()
        engine.dispose()
        print(f"pure polars (rate_frame, batches of {args.batch}): {args.cdrs} CDRs in "
              f"{best:.2f} s = {args.cdrs / best:,.0f} CDRs/s (CPU time {best_cpu:.2f} s, "
              f"polars threads included)")
        print(f"check: {rated_sum[0]} rated, {rated_sum[3]} with a jurisdiction, "
              f"sell {rated_sum[1] / 1e8:,.2f}, buy {rated_sum[2] / 1e8:,.2f} (USD/EUR mix)")
    print(f"threads: polars {pl.thread_pool_size()}, cpu_count {os.cpu_count()}")


if __name__ == "__main__":
    main()
