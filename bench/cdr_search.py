"""CDR search, export and statistics over many CDRs (issue 7): median per query.

1. Fills a fresh, migrated database with N CDRs spread over 30 days in the order the
   collector inserts them (time order, give or take 2 minutes; 200 customers with
   a skew, 50 carriers, ~50 destinations, 45 % answered, the rest over 7 failure
   codes, 10 % refused before a carrier): generated in columns with polars, the
   indexes dropped during the load and rebuilt after, then ANALYZE. SQLite (default,
   1,000,000 rows): ``executemany``. ``--postgres`` (default 10,000,000 rows): a
   private PostgreSQL 15 cluster made with initdb/pg_ctl in a temp dir on a free
   port (as the ``postgres`` user when run as root), loaded with COPY (psycopg 3:
   ``pip install "psycopg[binary]"``), removed at the end.
2. Times the searches of orchestrator/billing/search.py as the interfaces call them
   (first page of 50 with names and DTMF joined): by time range (last 24 h), by
   customer (7 days), by carrier (7 days), by number prefix (7 days), by result (486,
   24 h), next page (page 2 and page 20 of the time range, by cursor). Each query
   ``--repeat`` times with varying parameters; median and p95 printed. Target: median
   < 300 ms.
3. Also: statistics (GROUP BY) by customer over 24 h and 7 days, by hour over 7 days,
   and the CSV export of 24 h (rows/s).

    .venv/bin/python bench/cdr_search.py [--rows N] [--postgres] [--repeat 15]
                                         [--searches-only]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import polars as pl
from ratecards_io import machine
from sqlalchemy import Engine, Table, text
from sqlalchemy.orm import Session

import orchestrator.models  # noqa: F401  (every table's mapper)
from orchestrator.actor import SYSTEM
from orchestrator.billing import cdr_export, search, stats
from orchestrator.billing.models import Cdr
from orchestrator.carriers.models import Carrier
from orchestrator.customers.models import Customer
from orchestrator.db import make_engine, session_factory, upgrade

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
DAYS = 30
CUSTOMERS, CARRIERS = 200, 50
CODES = ["44", "4420", "447", "49", "4915", "33", "336", "1", "1212", "1646", "91", "9198",
         "86", "8613", "7", "7495", "34", "39", "31", "32", "41", "43", "45", "46", "47",
         "48", "351", "353", "358", "52", "55", "54", "57", "62", "63", "60", "66", "81",
         "82", "84", "90", "92", "234", "254", "20", "27", "212", "61", "64", "971"]
FAILS = [486, 480, 503, 404, 487, 403, 408]
CHUNK = 500_000
PG_BIN = [Path("/usr/lib/postgresql/15/bin"), Path("/usr/local/bin")]


def generate(offset: int, n: int, total: int) -> pl.DataFrame:
    """``n`` CDRs (ids offset+1..) of ``total``, pseudo-random by hashing the row number.

    In time order, give or take two minutes, as the collector inserts them (calls are
    written when they end): the table's physical order follows ``start_at``."""
    i = pl.int_range(offset, offset + n, dtype=pl.UInt64, eager=True)

    def h(seed: int) -> pl.Series:
        return i.hash(seed)

    span_ms = DAYS * 86_400_000
    before_now = span_ms - (i.cast(pl.Int64) * span_ms // total) + (h(1) % 120_000).cast(
        pl.Int64)
    start = pl.lit(NOW.replace(tzinfo=None)) - pl.duration(milliseconds=pl.lit(before_now))
    answered = (h(2) % 100) < 45
    refused = (h(3) % 100) < 10
    skew = (h(4) % CUSTOMERS) * (h(5) % CUSTOMERS) // CUSTOMERS   # small ids call more
    code = pl.when(answered).then(200).otherwise(
        pl.lit(pl.Series(FAILS)).gather(h(6) % len(FAILS)))
    duration = pl.when(answered).then((h(7) % 600_000).cast(pl.Int64)).otherwise(0)
    dialled = pl.lit(pl.Series(CODES)).gather(h(8) % len(CODES)) + \
        (h(9) % 10**8).cast(pl.String).str.zfill(8)
    frame = pl.DataFrame({"n": i}).with_columns(
        start_at=start, answered=pl.Series(answered), code=code, duration_ms=duration,
        customer_id=(skew + 1).cast(pl.Int64), dialled=dialled,
        carrier_id=pl.when(pl.Series(refused)).then(None).otherwise(
            (h(10) % CARRIERS + 1).cast(pl.Int64)),
        pdd_ms=pl.when(pl.Series(refused)).then(None).otherwise(
            (h(11) % 4000 + 500).cast(pl.Int64)),
        caller=pl.lit("1555") + (h(12) % 10**7).cast(pl.String).str.zfill(7),
        sell_charge=pl.when(pl.Series(answered)).then(
            (h(13) % 50_000_000).cast(pl.Int64)).otherwise(0))
    fmt = "%Y-%m-%d %H:%M:%S%.6f"
    return frame.select(
        id=(pl.col("n") + 1).cast(pl.Int64), node=pl.lit("local"),
        call_id=pl.format("{}-{}@bench", pl.col("n"), h(14)), from_tag=pl.col("n").cast(
            pl.String), cseq=pl.lit(1),
        start_at=pl.col("start_at").dt.strftime(fmt),
        answer_at=pl.when("answered").then(
            (pl.col("start_at") + pl.duration(seconds=3)).dt.strftime(fmt)),
        end_at=(pl.col("start_at") + pl.duration(seconds=3)
                + pl.duration(milliseconds=pl.col("duration_ms"))).dt.strftime(fmt),
        duration_ms=pl.col("duration_ms"), pdd_ms=pl.col("pdd_ms"), code=pl.col("code"),
        reason=pl.when("answered").then(pl.lit("OK")).otherwise(pl.lit("Failed")),
        hangup=pl.when("answered").then(pl.lit("caller")).otherwise(pl.lit("")),
        customer_id=pl.col("customer_id"), sip_user=pl.lit(""), source_ip=pl.lit("192.0.2.1"),
        caller=pl.col("caller"), dialled=pl.col("dialled"), number=pl.col("dialled"),
        routed=pl.col("dialled"), tariff=pl.lit("t1"), carrier_id=pl.col("carrier_id"),
        tried=pl.lit(""), media=pl.lit("proxy"), media_zone=pl.lit(""),
        rated_at=pl.when("answered").then(pl.col("start_at").dt.strftime(fmt)),
        jurisdiction=pl.lit(""), sell_prefix=pl.col("dialled").str.slice(0, 2),
        sell_currency=pl.lit("USD"), sell_billed=pl.col("duration_ms") // 1000,
        sell_charge=pl.col("sell_charge"), customer_charge=pl.col("sell_charge"),
        buy_prefix=pl.col("dialled").str.slice(0, 2), buy_currency=pl.lit("USD"),
        buy_billed=pl.col("duration_ms") // 1000, buy_charge=pl.col("sell_charge") * 7 // 10,
        profit=pl.col("sell_charge") * 3 // 10)


def add_parties(session: Session) -> None:
    session.add_all(Customer(id=n, name=f"Customer {n}", currency="USD")
                    for n in range(1, CUSTOMERS + 1))
    session.add_all(Carrier(id=n, name=f"Carrier {n}", currency="USD")
                    for n in range(1, CARRIERS + 1))
    session.commit()


def load(engine: Engine, rows: int) -> float:
    """Bulk load; the secondary indexes are rebuilt after the load."""
    mark = time.perf_counter()
    indexes = list(cast(Table, Cdr.__table__).indexes)
    with engine.begin() as conn:
        for index in indexes:
            index.drop(conn)
    postgres = engine.dialect.name == "postgresql"
    for offset in range(0, rows, CHUNK):
        frame = generate(offset, min(CHUNK, rows - offset), rows)
        columns = frame.columns
        if postgres:
            raw = engine.raw_connection()
            try:
                cursor: Any = raw.cursor()
                with cursor.copy(f"COPY cdrs ({', '.join(columns)}) FROM STDIN "
                                 "(FORMAT csv)") as copy:
                    copy.write(frame.write_csv(include_header=False))
                raw.commit()
            finally:
                raw.close()
        else:
            raw = engine.raw_connection()
            try:
                sqlite_cursor: Any = raw.cursor()
                sqlite_cursor.executemany(
                    f"INSERT INTO cdrs ({', '.join(columns)}) VALUES "
                    f"({', '.join('?' * len(columns))})", frame.iter_rows())
                raw.commit()
            finally:
                raw.close()
        print(f"  loaded {offset + len(frame):,} rows ({time.perf_counter() - mark:.0f} s)",
              flush=True)
    with engine.begin() as conn:
        for index in indexes:
            index.create(conn)
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - mark


def timed(label: str, repeat: int, run: Callable[[random.Random], int]) -> dict[str, Any]:
    rng = random.Random(7)
    run(rng)  # warm the cache once
    times, found = [], []
    for _ in range(repeat):
        mark = time.perf_counter()
        found.append(run(rng))
        times.append((time.perf_counter() - mark) * 1000)
    times.sort()
    result = {"query": label, "median_ms": statistics.median(times),
              "p95_ms": times[min(len(times) - 1, int(len(times) * 0.95))],
              "rows": int(statistics.median(found))}
    print(f"  {label:44} median {result['median_ms']:8.1f} ms  p95 {result['p95_ms']:8.1f} ms"
          f"  ({result['rows']} rows)", flush=True)
    return result


def period(days: float, rng: random.Random) -> tuple[datetime, datetime]:
    end = NOW - timedelta(hours=rng.randrange(0, 24 * (DAYS - int(days) - 1) + 1))
    return end - timedelta(days=days), end


def searches(session: Session, repeat: int) -> list[dict[str, Any]]:
    def page(days: float, **filters: Any) -> Callable[[random.Random], int]:
        def run(rng: random.Random) -> int:
            start, end = period(days, rng)
            values = {k: (v(rng) if callable(v) else v) for k, v in filters.items()}
            flt = search.CdrFilter(start=start, end=end, **values)
            return len(search.search(session, SYSTEM, flt).items)
        return run

    def deep(pages: int) -> Callable[[random.Random], int]:
        def run(rng: random.Random) -> int:
            start, end = period(1, rng)
            flt = search.CdrFilter(start=start, end=end)
            cursor = None
            for _ in range(pages - 1):
                cursor = search.search(session, SYSTEM, flt, cursor=cursor).next_cursor
            mark = time.perf_counter()
            found = len(search.search(session, SYSTEM, flt, cursor=cursor).items)
            run.last = time.perf_counter() - mark  # type: ignore[attr-defined]
            return found
        return run

    results = [
        timed("first page, last 24 h", repeat, page(1)),
        timed("by customer, 7 days", repeat,
              page(7, customer_id=lambda r: r.randrange(1, CUSTOMERS + 1))),
        timed("by carrier, 7 days", repeat,
              page(7, carrier_id=lambda r: r.randrange(1, CARRIERS + 1))),
        timed("by number prefix (4 digits), 7 days", repeat,
              page(7, dialled=lambda r: r.choice(CODES)[:2] + str(r.randrange(10, 100)))),
        timed("by result 486, 24 h", repeat, page(1, result="486")),
        timed("rare: customer 199 + prefix 9198, 30 days", repeat,
              page(DAYS - 1, customer_id=199, dialled="9198")),
    ]
    for pages in (2, 20):
        walk = deep(pages)
        rng = random.Random(3)
        times = []
        for _ in range(repeat):
            walk(rng)
            times.append(walk.last * 1000)  # type: ignore[attr-defined]
        label = f"page {pages} by cursor, last 24 h"
        median = statistics.median(times)
        print(f"  {label:44} median {median:8.1f} ms  p95 {sorted(times)[-1]:8.1f} ms (max)")
        results.append({"query": label, "median_ms": median})
    return results


def aggregates(session: Session, repeat: int) -> None:
    def stat(group_by: str, days: int) -> Callable[[random.Random], int]:
        def run(rng: random.Random) -> int:
            start, end = period(days, rng)
            query = stats.StatsQuery(start=start, end=end, group_by=group_by)
            result = stats.statistics(session, SYSTEM, query, "USD")
            # every CDR lands in a bucket / group of the answer
            assert sum(r.attempts for r in result.rows) == result.total.attempts > 0
            return len(result.rows)
        return run

    timed("stats by customer, 24 h", max(3, repeat // 3), stat("customer", 1))
    timed("stats by customer, 7 days", max(3, repeat // 3), stat("customer", 7))
    timed("stats by destination, 7 days", max(3, repeat // 3), stat("destination", 7))
    timed("stats by hour, 7 days", max(3, repeat // 3), stat("hour", 7))
    start, end = period(1, random.Random(1))
    mark = time.perf_counter()
    size = lines = 0
    flt = search.CdrFilter(start=start, end=end)
    for chunk in cdr_export.export_csv(session, SYSTEM, flt):
        size += len(chunk)
        lines += chunk.count("\n")
    took = time.perf_counter() - mark
    print(f"  CSV export, 24 h: {lines - 1:,} rows, {size / 2**20:.1f} MiB in {took:.2f} s "
          f"({(lines - 1) / took:,.0f} rows/s)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pg_tool(name: str) -> str:
    for folder in PG_BIN:
        if (folder / name).exists():
            return str(folder / name)
    raise SystemExit(f"{name} not found in {', '.join(map(str, PG_BIN))}")


@contextmanager
def postgres_cluster(directory: Path) -> Iterator[str]:
    """A private cluster on a free loopback port; stopped and removed afterwards."""
    data, port = directory / "pgdata", free_port()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root
        shutil.chown(directory, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_user, pg_tool("initdb"), "-D", str(data), "-U", "bench",
                    "--auth=trust", "-E", "UTF8", "--locale=C"], check=True,
                   stdout=subprocess.DEVNULL)
    options = (f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 "
               "-c shared_buffers=2GB -c work_mem=64MB -c maintenance_work_mem=1GB "
               "-c max_wal_size=8GB -c synchronous_commit=off -c fsync=off")
    subprocess.run([*as_user, pg_tool("pg_ctl"), "-D", str(data), "-o", options, "-l",
                    str(directory / "pg.log"), "-w", "start"], check=True,
                   stdout=subprocess.DEVNULL)
    try:
        subprocess.run([*as_user, pg_tool("createdb"), "-h", "127.0.0.1", "-p", str(port),
                        "-U", "bench", "orchestrator"], check=True)
        yield f"postgresql+psycopg://bench@127.0.0.1:{port}/orchestrator"
    finally:
        subprocess.run([*as_user, pg_tool("pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                        "stop"], check=False, stdout=subprocess.DEVNULL)


def run(url: str, rows: int, repeat: int, searches_only: bool = False) -> None:
    upgrade(url)
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            add_parties(session)
        print(f"loading {rows:,} CDRs over {DAYS} days ...", flush=True)
        took = load(engine, rows)
        print(f"  load + indexes + ANALYZE: {took:.0f} s ({rows / took:,.0f} rows/s)")
        with session_factory(engine)() as session:
            print("searches (50 rows a page, names and DTMF joined):")
            results = searches(session, repeat)
            if not searches_only:
                print("aggregates and export:")
                aggregates(session, repeat)
        worst = max(r["median_ms"] for r in results)
        print(f"worst search median: {worst:.1f} ms (target < 300 ms): "
              f"{'OK' if worst < 300 else 'OVER'}")
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--searches-only", action="store_true",
                        help="skip the statistics and the export")
    args = parser.parse_args()
    rows = args.rows or (10_000_000 if args.postgres else 1_000_000)
    print(machine())
    directory = Path(tempfile.mkdtemp(prefix="cdr-bench-"))
    try:
        if args.postgres:
            with postgres_cluster(directory) as url:
                print(f"PostgreSQL cluster in {directory}")
                run(url, rows, args.repeat, args.searches_only)
        else:
            run(f"sqlite:///{directory / 'bench.db'}", rows, args.repeat, args.searches_only)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
