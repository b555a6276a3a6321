"""Routing explain latency on a 1,000,000-prefix tariff (issue 5).

Builds a snapshot (customers with an IP each, one route each, all on one tariff tree of
random prefixes with 2-6 candidates per prefix), writes it into a Kamailio table file
in a temporary var dir exactly as apply does (generation 1, serving, recorded in the
snapshot store), then times:

* the one-off work per snapshot/tree: loading the tariff tree from the table file into
  memory, and building the snapshot's index;
* ``explain_query`` with both cached (the decision procedure alone);
* ``explain_current`` (what the API, web page and CLI call: serving version lookup in
  the table file, cached index and tree, then the walk).

Dialled numbers are random existing prefixes followed by random digits (plus 5 %
random numbers that may match nothing); sources are random customer IPs.

    .venv/bin/python bench/explain.py [--prefixes 1000000] [--customers 1000] [--runs 2000]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import tempfile
import time
from pathlib import Path

import polars as pl
from lists import timed  # bench/lists.py: median and p95 in ms (run from bench/)

from orchestrator.compile.snapshot import (
    AddressRow,
    Candidate,
    CarrierRow,
    CustomerRow,
    GatewayRow,
    GroupRow,
    IngressRow,
    ProviderCardRow,
    RouteRow,
    Snapshot,
    TariffRef,
    TariffValue,
    WeightRow,
)
from orchestrator.routing import explain, explain_query
from orchestrator.routing.explain_index import SnapshotIndex, SqliteTariffSource
from orchestrator.settings import Settings
from orchestrator.switch import store, tablefile

TREE = "tbench"
CARD = 1
CARDS = 40
STRATEGIES = ("lcr", "reverse_lcr", "random", "round_robin")


def make_snapshot(customers: int, rng: random.Random) -> Snapshot:
    routes = [RouteRow(id=i, customer_id=i, customer_card_id=CARD, tree=TREE,
                       tech_prefix="", has_dial_string=False, channels=0, cps=0,
                       max_duration=0, sip_ping=0, rtp_timeout=False,
                       profit_assurance=rng.random() < 0.3, cards_mode="", cards=(),
                       strategy=rng.choice(STRATEGIES), media_set=-1, strict=False)
              for i in range(1, customers + 1)]
    return Snapshot(
        addresses=tuple(AddressRow(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}/32", 0, i)
                        for i in range(1, customers + 1)),
        groups=tuple(GroupRow(i, (i,)) for i in range(1, customers + 1)),
        customers=tuple(CustomerRow(i, "ok", 10, 5, True, f"c{i}")
                        for i in range(1, customers + 1)),
        ingress=tuple(IngressRow(i, "", i) for i in range(1, customers + 1)),
        routes=tuple(routes),
        carriers=tuple(CarrierRow(k, 100, 10, 30000, 30000, f"k{k}")
                       for k in range(1, CARDS + 1)),
        gateways=tuple(GatewayRow(k, k, f"sip:192.0.2.{k}:5060", 1)
                       for k in range(1, CARDS + 1)),
        provider_cards=tuple(ProviderCardRow(k, k, "") for k in range(1, CARDS + 1)),
        weights=tuple(WeightRow(CARD, k, rng.randint(1, 5)) for k in range(1, CARDS + 1)),
        tariffs=(TariffRef(CARD, 1, TREE, "USD"),))


def make_tariff(count: int, rng: random.Random) -> pl.DataFrame:
    prefixes: set[str] = set()
    while len(prefixes) < count:
        length = rng.randint(3, 12)
        prefixes.add(str(rng.randint(10 ** (length - 1), 10 ** length - 1)))
    values = []
    for _ in range(count):
        sell = rng.randint(100_000, 50_000_000)
        costs = sorted((rng.randint(50_000, 60_000_000), card)
                       for card in rng.sample(range(1, CARDS + 1), rng.randint(2, 6)))
        cands = tuple(Candidate(card, cost, cost > sell) for cost, card in costs)
        reverse = tuple(range(len(cands) - 1, -1, -1))
        values.append(TariffValue(sell, 1, 1, 0, rng.random() < 0.01, cands,
                                  reverse).pack())
    return pl.DataFrame({"prefix": sorted(prefixes), "value": values})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefixes", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(5)

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{platform.system()} {platform.release()}, Python {platform.python_version()}")
    t0 = time.perf_counter()
    snap = make_snapshot(args.customers, rng)
    tariff = make_tariff(args.prefixes, rng)
    gen_s = time.perf_counter() - t0

    with tempfile.TemporaryDirectory(prefix="bench-explain-") as tmp:
        settings = Settings(var_dir=Path(tmp))
        t0 = time.perf_counter()
        tablefile.write_generation(settings.switch_db, snap, 1, lambda ref: tariff)
        tablefile.set_serving_generation(settings.switch_db, 1)
        store.record(settings, snap, who="bench")
        write_s = time.perf_counter() - t0
        print(f"{args.prefixes} prefixes, {args.customers} customers/routes, {CARDS} "
              f"provider cards; generated in {gen_s:.1f} s, written to the table file in "
              f"{write_s:.1f} s")

        trees = SqliteTariffSource(settings.switch_db)  # looked up in place: no load
        t0 = time.perf_counter()
        index = SnapshotIndex.of(snap)
        index_s = time.perf_counter() - t0
        print(f"build once per snapshot: index {index_s * 1000:.1f} ms")

        prefixes = tariff.get_column("prefix").to_list()
        queries = []
        for _ in range(args.runs):
            if rng.random() < 0.05:
                dialled = str(rng.randint(10**9, 10**12))
            else:
                dialled = rng.choice(prefixes) + str(rng.randint(0, 10**6))
            source = f"10.0.{rng.randint(0, args.customers // 256)}.{rng.randint(1, 255)}"
            queries.append(explain_query.Query.parse(source_ip=source, dialled=dialled[:32],
                                               source_port=5060))
        picks = iter(queries * 2)

        def walk() -> object:
            return explain.explain_query(snap, trees, next(picks), index=index)

        median, p95 = timed(walk, args.runs)
        print(f"explain_query (cached index and tree):   median {median:.3f} ms, "
              f"p95 {p95:.3f} ms over {args.runs} calls")

        explain.explain_current(settings, source_ip="10.0.0.1", dialled="1")  # warm up
        current = iter(queries)

        def full() -> object:
            q = next(current)
            return explain.explain_current(settings, source_ip=str(q.source),
                                           dialled=q.dialled, source_port=q.port)

        median, p95 = timed(full, args.runs)
        print(f"explain_current (API/web/CLI path):      median {median:.3f} ms, "
              f"p95 {p95:.3f} ms over {args.runs} calls")
        verdicts: dict[str, int] = {}
        for q in queries[:500]:
            verdict = explain.explain_query(snap, trees, q, index=index)["verdict"]
            verdicts[verdict] = verdicts.get(verdict, 0) + 1
        print("verdicts of the first 500 queries: " + ", ".join(
            f"{v}: {n}" for v, n in sorted(verdicts.items(), key=lambda x: -x[1])))


if __name__ == "__main__":
    main()
