"""List-page speed with 100,000 customers and 10,000 carriers (issue 3).

Generates the data with bulk inserts into a fresh SQLite database (or the database
in ORCHESTRATOR_DATABASE_URL), then times filtered, sorted list queries through the
service layer's listing helper (orchestrator.listing.paginate), which the REST API
and the web admin both call. Prints the median and p95 of each query and the machine.

    .venv/bin/python bench/lists.py [--customers 100000] [--carriers 10000] [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import string
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from orchestrator.carriers.models import Carrier
from orchestrator.customers.models import Customer
from orchestrator.db import make_engine, session_factory, upgrade
from orchestrator.listing import ListQuery, paginate

WORDS = ("alpha", "telecom", "voice", "global", "net", "link", "carrier", "wholesale",
         "digital", "connect", "cloud", "route", "tel", "com", "one", "prime")
CITIES = ("London", "Paris", "Berlin", "Madrid", "Lagos", "Dubai", "Mumbai", "Miami")
STATUSES = ("active", "active", "active", "inactive", "pending_approval", "penalty")


def _name(rng: random.Random, i: int) -> str:
    return (f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} "
            f"{''.join(rng.choices(string.ascii_uppercase, k=3))} {i}")


def generate(session: Session, customers: int, carriers: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    common = {"address_lines": "", "postcode": "", "country": "GB", "channels": 0, "cps": 0,
              "paypal_email": "", "portal_access": False, "created_at": now, "updated_at": now}
    batch = 10_000
    for start in range(0, customers, batch):
        rows = [{**common, "name": _name(rng, i), "status": rng.choice(STATUSES),
                 "currency": rng.choice(("USD", "EUR", "GBP")), "city": rng.choice(CITIES),
                 "website": f"https://c{i}.example", "email": f"noc{i}@c{i}.example",
                 "mobile": "", "tax_percent": Decimal(0), "debit_limit": Decimal(0),
                 "email_verified": False, "mobile_verified": False,
                 "verification_required": False}
                for i in range(start, min(start + batch, customers))]
        session.execute(insert(Customer), rows)
    for start in range(0, carriers, batch):
        rows = [{**common, "name": _name(rng, i), "status": rng.choice(STATUSES),
                 "currency": rng.choice(("USD", "EUR")), "city": rng.choice(CITIES),
                 "website": f"https://k{i}.example", "portal_url": "", "portal_username": "",
                 "portal_password_encrypted": "", "pre_ring_timeout": 30,
                 "post_ring_timeout": 30}
                for i in range(start, min(start + batch, carriers))]
        session.execute(insert(Carrier), rows)
    session.commit()


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--carriers", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30, help="timed runs per query")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-lists-"))
    url = os.environ.get("ORCHESTRATOR_DATABASE_URL") or f"sqlite:///{workdir / 'bench.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    t0 = time.perf_counter()
    with sessions() as session:
        generate(session, args.customers, args.carriers)
    load_s = time.perf_counter() - t0

    cust_search = [Customer.name, Customer.email, Customer.website, Customer.city]
    cust_sort = {"id": Customer.id, "name": Customer.name, "status": Customer.status,
                 "created_at": Customer.created_at, "currency": Customer.currency}
    carr_search = [Carrier.name, Carrier.website, Carrier.city]
    carr_sort = {"id": Carrier.id, "name": Carrier.name, "status": Carrier.status}
    cases: list[tuple[str, Callable[[Session], object]]] = [
        ("customers: first page, sort name", lambda s: paginate(
            s, select(Customer), ListQuery(sort="name"), cust_search, cust_sort)),
        ("customers: q='telecom', sort -name, page 3", lambda s: paginate(
            s, select(Customer), ListQuery(q="telecom", sort="-name", page=3),
            cust_search, cust_sort)),
        ("customers: q='voice glo', status filter", lambda s: paginate(
            s, select(Customer).where(Customer.status == "active"),
            ListQuery(q="voice glo", sort="name"), cust_search, cust_sort)),
        ("customers: last page, sort name", lambda s: paginate(
            s, select(Customer), ListQuery(sort="name", page=args.customers // 50),
            cust_search, cust_sort)),
        ("carriers: q='link', sort status,name", lambda s: paginate(
            s, select(Carrier), ListQuery(q="link", sort="status,name"),
            carr_search, carr_sort)),
    ]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
          f"{engine.dialect.name}")
    print(f"loaded {args.customers} customers and {args.carriers} carriers in {load_s:.1f} s")
    print(f"{'query (service layer)':<48} {'median ms':>10} {'p95 ms':>8}")
    with sessions() as session:
        for label, case in cases:
            median, p95 = timed(lambda c=case: c(session), args.runs)  # type: ignore[misc]
            print(f"{label:<48} {median:>10.1f} {p95:>8.1f}")
    engine.dispose()


if __name__ == "__main__":
    main()
