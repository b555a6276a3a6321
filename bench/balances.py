"""Balances at scale (issue 7): running totals against 1,000,000 rated CDRs on SQLite.

1. Builds a migrated SQLite database with ``--customers`` customers (each with 3
   completed payments) and ``--cdrs`` rated CDRs spread over them and over 30 days
   (bulk inserted with sqlite3, not through the ORM), and their running totals.
2. **Balances of a list page**: ``payments.balances`` of 50 customers (what every
   customer list page computes), median and p95 over 50 random pages; next to the
   naive way (SUM over the CDRs of those 50 customers) for comparison.
3. **Rating's upsert**: ``apply_charge_deltas`` of a batch touching 1,000 customers.
4. **billing check**: ``balances.check`` over every CDR (the integer SQL SUM).
5. **Statement** of the busiest customer over 30 days (charges per day in SQL).

The first line gives the machine and the load average: wall times depend on what else
runs.

    .venv/bin/python bench/balances.py [--customers 2000] [--cdrs 1000000]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

import orchestrator.models  # noqa: F401  (every table's mapper)
from orchestrator.actor import SYSTEM
from orchestrator.billing import balances, statement
from orchestrator.billing.models import Cdr
from orchestrator.customers import payments
from orchestrator.db import make_engine, session_factory, upgrade

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def build(path: Path, customers: int, cdrs: int) -> None:
    upgrade(f"sqlite:///{path}")
    conn = sqlite3.connect(path)
    now = T0.isoformat(" ")
    conn.executemany(
        "INSERT INTO customers (id, name, status, currency, tax_percent, debit_limit, "
        "channels, cps, paypal_email, website, portal_access, address_lines, city, "
        "postcode, country, email, mobile, email_verified, mobile_verified, "
        "verification_required, pass_headers, pai, search_text, created_at, updated_at) "
        "VALUES (?, ?, 'active', 'USD', 20, 10, 0, 0, '', '', 0, '', '', '', '', '', '', "
        "0, 0, 0, '', 'accept', '', ?, ?)",
        [(i, f"customer {i}", now, now) for i in range(1, customers + 1)])
    conn.executemany(
        "INSERT INTO customer_payments (customer_id, amount, fee, description, status, "
        "created_at) VALUES (?, 100, 0, '', 'completed', ?)",
        [(i, now) for i in range(1, customers + 1) for _ in range(3)])
    rng = random.Random(7)
    totals: dict[int, int] = {}
    batch: list[tuple[object, ...]] = []
    columns = ("node, call_id, from_tag, cseq, start_at, end_at, duration_ms, code, "
               "reason, hangup, customer_id, sip_user, source_ip, caller, dialled, number, "
               "routed, tariff, tried, media, media_zone, rated_at, jurisdiction, "
               "sell_prefix, sell_currency, sell_billed, sell_charge, customer_charge, "
               "buy_prefix, buy_currency, buy_billed, buy_charge, profit")
    sql = (f"INSERT INTO cdrs ({columns}) VALUES ('local', ?, 'f', 1, ?, ?, ?, ?, '', '', "
           "?, '', '', '', '', '', '', '', '', '', '', ?, '', '', 'USD', 0, ?, ?, '', '', "
           "0, 0, 0)")
    for n in range(cdrs):
        # a few customers are much busier than the rest (customer 1 the busiest)
        cid = min(customers, int(rng.paretovariate(1.2)))
        start = T0 + timedelta(seconds=rng.randrange(30 * 86400))
        answered = rng.random() < 0.6
        charge = rng.randrange(1, 50_000_000) if answered else 0
        totals[cid] = totals.get(cid, 0) + charge
        stamp = start.isoformat(" ")
        batch.append((f"c{n}", stamp, stamp, 60_000 if answered else 0,
                      200 if answered else 503, cid, stamp, charge, charge))
        if len(batch) == 50_000:
            conn.executemany(sql, batch)
            batch.clear()
    conn.executemany(sql, batch)
    conn.executemany("INSERT INTO customer_charges (customer_id, charges, updated_at) "
                     "VALUES (?, ?, ?)", [(c, t, now) for c, t in totals.items()])
    conn.commit()
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--cdrs", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"machine: {platform.machine()} {platform.processor() or ''} "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "balances.db"
        started = time.perf_counter()
        build(path, args.customers, args.cdrs)
        print(f"built {args.customers} customers, {args.cdrs} rated CDRs in "
              f"{time.perf_counter() - started:.1f} s")
        engine = make_engine(f"sqlite:///{path}")
        sessions = session_factory(engine)
        rng = random.Random(1)
        with sessions() as session:
            pages = [rng.sample(range(1, args.customers + 1), 50) for _ in range(50)]
            def ours_of(page: list[int]) -> None:
                payments.balances(session, page)
            ours = [timed(lambda p=p: ours_of(p)) for p in pages]  # type: ignore[misc]

            def naive(page: list[int]) -> None:
                session.execute(select(Cdr.customer_id, func.sum(Cdr.customer_charge))
                                .where(Cdr.customer_id.in_(page), Cdr.rated_at.is_not(None))
                                .group_by(Cdr.customer_id)).all()
            # the naive way on pages that hold the busiest customer (a list sorted by name
            # shows it on some page): what that page would cost
            busy_pages = [[1, *p[:49]] for p in pages[:10]]
            summed = [timed(lambda p=p: naive(p)) for p in busy_pages]  # type: ignore[misc]
            ours_busy = [timed(lambda p=p: ours_of(p)) for p in busy_pages]  # type: ignore[misc]
            q = statistics.quantiles(ours, n=20)
            print(f"balances of a 50-customer page: median {statistics.median(ours) * 1e3:.2f}"
                  f" ms, p95 {q[18] * 1e3:.2f} ms; a page with the busiest customer: "
                  f"{statistics.median(ours_busy) * 1e3:.2f} ms (summing its CDRs instead: "
                  f"{statistics.median(summed) * 1e3:.0f} ms)")
            deltas = {c: rng.randrange(1, 10**8) for c in
                      rng.sample(range(1, args.customers + 1), min(1000, args.customers))}
            upsert = timed(lambda: balances.apply_charge_deltas(session, deltas))
            session.rollback()
            print(f"apply_charge_deltas of 1,000 customers: {upsert * 1e3:.0f} ms")
            check = timed(lambda: balances.check(session))
            print(f"billing check over {args.cdrs} CDRs: {check:.2f} s "
                  f"({args.cdrs / check:,.0f} CDRs/s)")
            busiest = session.scalar(select(Cdr.customer_id).group_by(Cdr.customer_id)
                                     .order_by(func.count().desc()).limit(1))
            count = session.scalar(select(func.count()).where(Cdr.customer_id == busiest))
            st_time = timed(lambda: statement.statement(
                session, SYSTEM, int(busiest or 1), date(2026, 1, 1), date(2026, 1, 30)))
            print(f"statement of the busiest customer ({count} CDRs, 30 days): "
                  f"{st_time * 1e3:.0f} ms")
        engine.dispose()


if __name__ == "__main__":
    main()
