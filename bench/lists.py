"""List-page speed with 100,000 customers and 10,000 carriers (issue 3).

Generates the data with bulk inserts into a fresh SQLite database (or the database
in ORCHESTRATOR_DATABASE_URL), then times the same filtered, sorted list pages three
ways: the service function (what every interface calls), the REST API
(GET /api/v1/customers with a bearer token) and the web admin (the table fragment
that search-as-you-type fetches), both through the WSGI app in this process. Prints
the median and p95 of each and the machine.

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

from flask.testing import FlaskClient
from sqlalchemy import insert
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.carriers import service as carriers
from orchestrator.carriers.models import Carrier
from orchestrator.customers import service as customers
from orchestrator.customers.models import Customer
from orchestrator.db import make_engine, session_factory, upgrade
from orchestrator.listing import ListQuery
from orchestrator.settings import Settings
from orchestrator.users import tokens
from orchestrator.users.service import create_user
from webui import create_app
from webui.auth import session_stamp

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
        for row in rows:
            row["search_text"] = Customer.search_text_of(row)
        session.execute(insert(Customer), rows)
    for start in range(0, carriers, batch):
        rows = [{**common, "name": _name(rng, i), "status": rng.choice(STATUSES),
                 "currency": rng.choice(("USD", "EUR")), "city": rng.choice(CITIES),
                 "website": f"https://k{i}.example", "portal_url": "", "portal_username": "",
                 "portal_password_encrypted": "", "pre_ring_timeout": 30,
                 "post_ring_timeout": 30}
                for i in range(start, min(start + batch, carriers))]
        for row in rows:
            row["search_text"] = Carrier.search_text_of(row)
        session.execute(insert(Carrier), rows)
    session.commit()


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


# (label, list, query parameters); the same page through every interface.
CASES: list[tuple[str, str, dict[str, str]]] = [
    ("first page, sort name", "customers", {"sort": "name"}),
    ("q='telecom', sort -name, page 3", "customers",
     {"q": "telecom", "sort": "-name", "page": "3"}),
    ("q='voice glo', status=active, sort name", "customers",
     {"q": "voice glo", "status": "active", "sort": "name"}),
    ("page 1000, sort name", "customers", {"sort": "name", "page": "1000"}),
    ("q='link', sort status,name", "carriers", {"q": "link", "sort": "status,name"}),
]


def _service_call(session: Session, actor: Actor, kind: str,
                  params: dict[str, str]) -> Callable[[], object]:
    query = ListQuery(q=params.get("q", ""), sort=params.get("sort", ""),
                      page=int(params.get("page", "1")))
    lister = customers.list_customers if kind == "customers" else carriers.list_carriers
    return lambda: lister(session, actor, query, status=params.get("status"))


def _http_call(client: FlaskClient, url: str, headers: dict[str, str]) -> Callable[[], object]:
    def call() -> object:
        response = client.get(url, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}: "
                             f"{response.get_data(as_text=True)[:300]}")
        return response
    return call


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
        admin = create_user(session, "bench", "bench password 123", "admin")
        actor = Actor(admin.id, admin.username, admin.role)
        _, token = tokens.create_token(session, admin, actor=actor)
        stamp, admin_id = session_stamp(admin), admin.id
        session.commit()
    load_s = time.perf_counter() - t0

    app = create_app(Settings(var_dir=workdir, database_url=url))
    api_client, web_client = app.test_client(), app.test_client()
    with web_client.session_transaction() as web_session:
        web_session["user_id"], web_session["stamp"] = admin_id, stamp
    bearer = {"Authorization": f"Bearer {token}"}
    fragment = {"X-Fragment": "1"}

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
          f"{engine.dialect.name}")
    print(f"loaded {args.customers} customers and {args.carriers} carriers in {load_s:.1f} s; "
          f"{args.runs} runs per figure, 50 rows per page")
    print(f"{'list page':<50} {'service':>15} {'API':>15} {'web':>15}")
    print(f"{'':<50} {'median / p95 ms':>15} {'median / p95 ms':>15} {'median / p95 ms':>15}")
    with sessions() as session:
        for label, kind, params in CASES:
            qs = "&".join(f"{k}={v.replace(' ', '+')}" for k, v in params.items())
            calls = [_service_call(session, actor, kind, params),
                     _http_call(api_client, f"/api/v1/{kind}?{qs}", bearer),
                     _http_call(web_client, f"/{kind}?{qs}", fragment)]
            figures = [timed(call, args.runs) for call in calls]
            cells = " ".join(f"{m:>7.1f} / {p:<5.1f}" for m, p in figures)
            print(f"{kind + ': ' + label:<50} {cells}")
    engine.dispose()


if __name__ == "__main__":
    main()
