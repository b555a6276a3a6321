#!/usr/bin/env python3
"""CDR collection with rating at insert (issue 7): CDR lines as Kamailio writes them
-> the ``cdrs`` table, rated, with the customers' running totals, in one pass.

Builds the world of bench/rating.py (a ~50k-prefix provider deck, a customer card,
200 customers) in a temporary SQLite database, writes N CDR lines in the switch's
format (orchestrator/billing/cdr_format.py) into 4 files, then times the collector
twice on copies of the database: inserting only, and rating as it inserts (what the
stack runs). Prints lines/s of each, the rating's own throughput (N / the difference)
and the machine.

Run:  .venv/bin/python bench/cdr_collect.py [--cdrs 1000000] [--prefixes 50000]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ratecards_io import machine
from rating import NPAS, T0, build_world

import orchestrator.models  # noqa: F401  (every table's mapper)
from orchestrator.billing.cdr_format import FIELDS
from orchestrator.billing.collector import CdrCollector
from orchestrator.billing.rating_insert import rate_new
from orchestrator.db import make_engine, session_factory, upgrade
from orchestrator.ratecards.jurisdiction import Jurisdictions, derive_table

FILES = 4


def write_lines(cdr_dir: Path, world: dict[str, object], count: int,
                rng: random.Random) -> None:
    plist = world["prefixes"]
    customers = world["customers"]
    assert isinstance(plist, list) and isinstance(customers, list)
    outs = [(cdr_dir / f"cdrs_{n}.log").open("w") for n in range(FILES)]
    try:
        for i in range(count):
            if rng.random() < 0.25:
                number = "1" + rng.choice(NPAS) + str(rng.randrange(10**7)).zfill(7)
            else:
                number = rng.choice(plist)
                number += str(rng.randrange(10 ** (12 - len(number)))).zfill(12 - len(number))
            caller = ("1" + rng.choice(NPAS) + "5550100") if rng.random() < 0.5 else "4412345"
            answered = rng.random() < 0.6
            start = (T0 + timedelta(seconds=rng.randrange(2 * 86400))).timestamp()
            held = rng.randrange(1, 1200) if answered else 0
            extra = {
                "t0": f"{start:.6f}", "te": f"{start + 3 + held:.6f}",
                "ta": f"{start + 3:.6f}" if answered else "", "t18": f"{start + 1:.6f}",
                "rc": "200" if answered else "486", "rr": "OK" if answered else "Busy Here",
                "hup": "caller" if answered else "", "ci": f"c{i}@192.0.2.1", "ft": f"t{i}",
                "cs": "1", "src": "192.0.2.1", "cust": str(rng.choice(customers)),
                "rid": "1", "user": "<null>", "caller": caller, "dialled": number,
                "num": number, "routed": number, "tree": f"t{world['sell']}", "kid": "1",
                "pc": str(world["provider"]), "tried": "", "media": "proxy", "mset": "0",
            }
            acc = ["BYE", f"t{i}", "x", f"c{i}@192.0.2.1", "", "cdr", str(int(start))]
            outs[i % FILES].write("|".join(acc + [extra[n] for n in FIELDS[7:]]) + "\n")
    finally:
        for out in outs:
            out.close()


def timed_collect(base_db: Path, cdr_dir: Path, work: Path, rate: bool,
                  jurisdictions: Jurisdictions) -> tuple[float, int]:
    db = work / ("rated.db" if rate else "plain.db")
    shutil.copy(base_db, db)
    engine = make_engine(f"sqlite:///{db}")
    sessions = session_factory(engine)
    lines = work / ("lines-rated" if rate else "lines-plain")
    shutil.copytree(cdr_dir, lines)
    collector = CdrCollector(
        lines, sessions, rate=(lambda s, f: rate_new(s, f, jurisdictions=jurisdictions,
                                                     base_currency="USD")) if rate else None)
    began = time.perf_counter()
    result = collector.collect_once()
    seconds = time.perf_counter() - began
    engine.dispose()
    return seconds, result.inserted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cdrs", type=int, default=1_000_000)
    parser.add_argument("--prefixes", type=int, default=50_000)
    args = parser.parse_args()
    print(machine())
    rng = random.Random(7)
    jurisdictions = Jurisdictions(derive_table())
    with tempfile.TemporaryDirectory(prefix="bench-collect-") as tmp:
        work = Path(tmp)
        base = work / "base.db"
        upgrade(f"sqlite:///{base}")
        world = build_world(f"sqlite:///{base}", args.prefixes, rng)
        cdr_dir = work / "lines"
        cdr_dir.mkdir()
        write_lines(cdr_dir, world, args.cdrs, rng)
        plain, n_plain = timed_collect(base, cdr_dir, work, False, jurisdictions)
        rated, n_rated = timed_collect(base, cdr_dir, work, True, jurisdictions)
    assert n_plain == n_rated == args.cdrs, (n_plain, n_rated)
    print(f"CDRs: {args.cdrs:,}  prefixes: {args.prefixes:,}")
    print(f"collect, insert only:        {plain:7.2f} s  {args.cdrs / plain:10,.0f} CDRs/s")
    print(f"collect, rated at insert:    {rated:7.2f} s  {args.cdrs / rated:10,.0f} CDRs/s")
    extra = rated - plain
    if extra > 0:
        print(f"rating's share (difference): {extra:7.2f} s  {args.cdrs / extra:10,.0f} CDRs/s")


if __name__ == "__main__":
    main()
