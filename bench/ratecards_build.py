"""Customer-card build speed: 5 parents x 300,000 prefixes, ~20 profit rules.

Generates overlapping, realistic-ish provider decks (country codes, area codes and
mobile ranges, a few blocked rows, US NPA-NXX rows with inter/intra, five
currencies), then times ``build_card`` (median of --runs) and reports the peak RSS.
In the same run the naive reference (tests/unit/ratecards/reference_build.py: dict
walk with Decimal) builds a --subset prefix slice of the same decks; its speed is
reported as prefixes/s with the extrapolated time for the full set, and the fast
build of the same slice is checked to give the identical card.

    .venv/bin/python bench/ratecards_build.py [--prefixes 300000] [--parents 5]
        [--runs 3] [--subset 20000] [--seed 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orchestrator.ratecards.build_engine import (
    BuildResult,
    CardOptions,
    ParentInput,
    RuleInput,
    build_card,
)
from tests.unit.ratecards.reference_build import (
    RefOptions,
    RefParent,
    RefRow,
    RefRule,
    reference_build,
)
from tests.unit.ratecards.test_build_engine import assert_same, to_reference

COUNTRIES = ["1", "7", "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41",
             "43", "44", "45", "46", "47", "48", "49", "51", "52", "53", "54", "55", "56",
             "57", "58", "60", "61", "62", "63", "64", "65", "66", "81", "82", "84", "86",
             "90", "91", "92", "93", "94", "95", "98", "211", "212", "213", "216", "218",
             "220", "221", "233", "234", "254", "255", "256", "351", "352", "353", "354",
             "355", "358", "359", "370", "371", "372", "380", "381", "385", "386", "420",
             "421", "852", "853", "855", "880", "881", "882", "886", "960", "961", "962",
             "963", "964", "965", "966", "971", "972", "973", "974", "975", "976", "977"]
NAMES = ["Fixed", "Mobile", "Premium", "Special Services", "Proper", "Satellite"]
FX = [(1, 1), (92, 100), (79, 100), (15_234, 100), (3_671, 1_000)]  # USD EUR GBP JPY AED

RULES = [
    RuleInput(match="^881", status="blocked", name_override="Satellite (blocked)"),
    RuleInput(match="^882", status="remove"),
    RuleInput(match="44", type="absolute", value=Decimal("0.0125")),
    RuleInput(match="^44(7|8)", type="percent", value=Decimal("12.5"), mcd=30, pulse=30),
    RuleInput(match="^1(204|226|250|289|306)", type="relative", value=Decimal("0.0004")),
    RuleInput(match="^1[2-9][0-9]{2}555", type="absolute", value=Decimal("0.5"),
              name_override="US directory"),
    RuleInput(match="^33[67]", type="percent", value=Decimal(20), rounding="half_up"),
    RuleInput(match="^49(15|16|17)", type="percent", value=Decimal(15)),
    RuleInput(match="^(20|21[2368])", type="relative", value=Decimal("0.01"),
              connect_fee=Decimal("0.02")),
    RuleInput(match="^9[1-5]", type="percent", value=Decimal("8.75"), rounding="half_down"),
    RuleInput(match="^(?:234|233|254)[0-9]*$", type="percent", value=Decimal(30)),
    RuleInput(match="^86(13|15|18)", type="percent", value=Decimal(5)),
    RuleInput(match="^7(9|[0-8]{3})", type="relative", value=Decimal("0.002")),
    RuleInput(match="^61[45]", type="percent", value=Decimal(11), mcd=60, pulse=60),
    RuleInput(match="^(39|34)3", type="percent", value=Decimal(9)),
    RuleInput(match="^(97[1-7])5", type="percent", value=Decimal(25)),
    RuleInput(match="^[2-9]\\d{6,}$", type="percent", value=Decimal(6)),
    RuleInput(match="^3", type="percent", value=Decimal(7)),
    RuleInput(match="^1", type="relative", value=Decimal("0.0002")),
    RuleInput(match="", type="percent", value=Decimal(10)),
]
OPTIONS = CardOptions(rate_compact="max", collapse_using="max", collapse=True,
                      force_presentation="single", strategy="lcr", precision=4,
                      rounding="up")


def universe(target: int, rng: random.Random) -> list[str]:
    """About ``target`` distinct prefixes: countries, areas and ranges below them."""
    prefixes = set(COUNTRIES)
    while len(prefixes) < target:
        country = rng.choice(COUNTRIES)
        if country == "1":  # NPA-NXX
            prefixes.add("1" + str(rng.randint(201, 989)) + str(rng.randint(200, 999)))
            continue
        depth = rng.choice((1, 2, 2, 3, 3, 4, 5, 6, 7))
        prefixes.add(country + str(rng.randrange(10**depth)).zfill(depth))
    return sorted(prefixes)


def provider_deck(pool: list[str], size: int, rng: random.Random) -> pl.DataFrame:
    chosen = sorted(set(COUNTRIES) | set(rng.sample(pool, size - len(COUNTRIES))))
    count = len(chosen)
    rates = [rng.randint(1_000, 40_000_000) for _ in range(count)]
    us = [p.startswith("1") and len(p) == 7 for p in chosen]
    inter = [r + rng.randint(0, 200_000) if u else None for r, u in zip(rates, us, strict=True)]
    intra = [r - rng.randint(0, 900) if u else None for r, u in zip(rates, us, strict=True)]
    return pl.DataFrame({
        "prefix": chosen,
        "name": [f"{n} {p[:3]}" for n, p in zip(rng.choices(NAMES, k=count), chosen,
                                                  strict=True)],
        "rate": rates, "inter": inter, "intra": intra,
        "connect_fee": rng.choices((0, 0, 0, 100_000), k=count),
        "mcd": rng.choices((1, 1, 30, 60), k=count),
        "pulse": rng.choices((1, 1, 6, 30, 60), k=count),
        "status": rng.choices(("active", "blocked"), weights=(98, 2), k=count),
    }, schema={"prefix": pl.Utf8, "name": pl.Utf8, "rate": pl.Int64, "inter": pl.Int64,
               "intra": pl.Int64, "connect_fee": pl.Int64, "mcd": pl.Int32, "pulse": pl.Int32,
               "status": pl.Utf8})


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores; "
            f"Python {platform.python_version()}, polars {pl.__version__}, "
            f"{pl.thread_pool_size()} polars threads")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prefixes", type=int, default=300_000)
    parser.add_argument("--parents", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--subset", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"machine: {machine()}")
    started = time.perf_counter()
    pool = universe(int(args.prefixes * 1.6), rng)
    parents = [ParentInput(100 + i, provider_deck(pool, args.prefixes, rng), weight=1 + i,
                           priority=i % 2, position=i, fx_numerator=FX[i % len(FX)][0],
                           fx_denominator=FX[i % len(FX)][1]) for i in range(args.parents)]
    total_rows = sum(p.frame.height for p in parents)
    print(f"decks: {args.parents} x {args.prefixes:,} prefixes ({total_rows:,} rows), "
          f"{len(RULES)} rules; generated in {time.perf_counter() - started:.1f} s, "
          f"RSS {rss_mib():.0f} MiB")

    timings: list[float] = []
    cpu: list[float] = []
    result: BuildResult | None = None
    steps: list[tuple[float, str, float]] = []
    for run in range(args.runs):
        start, cpu_start = time.perf_counter(), time.process_time()
        marks: list[tuple[float, str, float]] = []
        def mark(fraction: float, message: str, marks: list[tuple[float, str, float]] = marks,
                 start: float = start) -> None:
            marks.append((fraction, message, time.perf_counter() - start))

        result = build_card(parents, RULES, OPTIONS, mark)
        timings.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
        if run == 0:
            steps = marks
    assert result is not None
    stats = result.stats
    median = statistics.median(timings)
    union = stats.prefixes + stats.removed + stats.collapsed
    print(f"fast build: median {median:.2f} s of {args.runs} "
          f"({', '.join(f'{t:.2f}' for t in timings)}); {union:,} distinct prefixes "
          f"-> {union / median:,.0f} prefixes/s; peak RSS {rss_mib():.0f} MiB")
    print(f"  CPU time (all threads) median {statistics.median(cpu):.2f} s; "
          f"load average during the run {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  stats: {stats}")
    print("  steps (run 1): " + "; ".join(f"{m} @ {t:.2f}s" for _, m, t in steps))

    subset = set(rng.sample(sorted(result.frame["prefix"].to_list()), min(
        args.subset, result.frame.height)))
    small = [ParentInput(p.provider_card_id, p.frame.filter(pl.col("prefix").is_in(subset)),
                         p.weight, p.priority, p.position, p.fx_numerator, p.fx_denominator)
             for p in parents]
    small_rows = [{r["prefix"]: (r["name"], r["rate"], r["inter"], r["intra"],
                                 r["connect_fee"], r["mcd"], r["pulse"], r["status"])
                   for r in p.frame.iter_rows(named=True)} for p in small]
    ref_parents = [RefParent(p.provider_card_id, {
        prefix: RefRow(r[0], Decimal(r[1]).scaleb(-8),
                       None if r[2] is None else Decimal(r[2]).scaleb(-8),
                       None if r[3] is None else Decimal(r[3]).scaleb(-8),
                       Decimal(r[4]).scaleb(-8), r[5], r[6], r[7])
        for prefix, r in rows.items()}, p.priority, p.position, p.fx_numerator,
        p.fx_denominator) for p, rows in zip(small, small_rows, strict=True)]
    ref_rules = [RefRule(r.match, r.type, Decimal(r.value), r.mcd, r.pulse,
                         None if r.connect_fee is None else Decimal(r.connect_fee),
                         r.rounding, r.name_override, r.status) for r in RULES]
    ref_options = RefOptions(**vars(OPTIONS))
    start, cpu_start = time.perf_counter(), time.process_time()
    reference = reference_build(ref_parents, ref_rules, ref_options)
    naive = time.perf_counter() - start
    naive_cpu = time.process_time() - cpu_start
    count = len(set().union(*(rows.keys() for rows in small_rows)))
    rate = count / naive
    print(f"naive reference: {count:,} prefixes in {naive:.2f} s -> {rate:,.0f} prefixes/s; "
          f"extrapolated to {union:,} prefixes: {union / rate:.1f} s; "
          f"fast build is {union / rate / median:.0f}x faster (CPU time: reference "
          f"{count / naive_cpu:,.0f} prefixes/s, extrapolated {union / count * naive_cpu:.1f} s, "
          f"{union / count * naive_cpu / statistics.median(cpu):.0f}x)")
    small_fast = build_card(small, RULES, OPTIONS)
    assert_same(small_fast, reference)
    assert_same(small_fast, to_reference(small, small_rows, RULES, OPTIONS))
    print(f"check: fast build of the {count:,}-prefix slice equals the reference "
          f"({small_fast.stats.prefixes:,} rows)")


if __name__ == "__main__":
    main()
