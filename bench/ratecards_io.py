"""Rate-deck I/O at 1,000,000 rows (issue 4): import, export, browsing, each next to
the same operation done naively (row by row through the ORM) in the same run.

1. Generates a 1M-row CSV provider deck (ITU-like country codes + 5 digits, names,
   rates with up to 5 decimals, a combined ``60/60`` billing column, status).
2. **Import** end to end in a fresh child process (so its peak RSS is the import's):
   read bytes -> ``read_deck`` -> ``suggest_mapping`` -> ``validate`` ->
   ``write_rates`` into a freshly migrated SQLite database -> commit.
3. **Export** of that revision in a fresh child: ``read_rates`` -> CSV, and -> XLSX.
4. **Browsing**: ``page_rates`` with a prefix search (page of 50 + count), median
   and p95 over 30 random 2-4 digit prefixes.
5. **Naive**, same data: ``csv.DictReader`` + ``parse_units`` + ``session.add(Rate())``
   per row for the first 20,000 rows (rows/s, extrapolated to 1M); ORM query +
   ``csv.writer`` per row for 20,000 rows of export (extrapolated); ORM
   ``LIKE 'x%'`` page + ``count()`` for browsing. Ratios = naive / ours.

Wall times depend on what else runs on the machine: the first line gives the load
average and a pure-Python calibration loop, and import/export also print the child's
CPU time (user + system, all threads), close to the wall time of an idle machine.

    .venv/bin/python bench/ratecards_io.py [--rows 1000000] [--naive-rows 20000]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import orchestrator.models  # noqa: F401  (every table's mapper)
from orchestrator.carriers.models import Carrier
from orchestrator.db import make_engine, upgrade
from orchestrator.ratecards.deck import (
    export,
    page_rates,
    read_deck,
    read_rates,
    suggest_mapping,
    validate,
    write_rates,
)
from orchestrator.ratecards.models import ProviderCard, Rate, RateRevision
from orchestrator.ratecards.money import format_units, parse_units

# A prefix-free set of calling codes (no code is the start of another).
CODES = {
    "1": "USA", "7": "Russia", "20": "Egypt", "27": "South Africa", "30": "Greece",
    "31": "Netherlands", "32": "Belgium", "33": "France", "34": "Spain", "36": "Hungary",
    "39": "Italy", "40": "Romania", "41": "Switzerland", "43": "Austria", "44": "UK",
    "45": "Denmark", "46": "Sweden", "47": "Norway", "48": "Poland", "49": "Germany",
    "51": "Peru", "52": "Mexico", "53": "Cuba", "54": "Argentina", "55": "Brazil",
    "56": "Chile", "57": "Colombia", "58": "Venezuela", "60": "Malaysia",
    "61": "Australia", "62": "Indonesia", "63": "Philippines", "64": "New Zealand",
    "65": "Singapore", "66": "Thailand", "81": "Japan", "82": "South Korea",
    "84": "Vietnam", "86": "China", "90": "Turkey", "91": "India", "92": "Pakistan",
    "93": "Afghanistan", "94": "Sri Lanka", "95": "Myanmar", "98": "Iran",
    "212": "Morocco", "213": "Algeria", "216": "Tunisia", "218": "Libya",
    "220": "Gambia", "221": "Senegal", "225": "Cote d'Ivoire", "233": "Ghana",
    "234": "Nigeria", "237": "Cameroon", "243": "DR Congo", "249": "Sudan",
    "251": "Ethiopia", "254": "Kenya", "255": "Tanzania", "256": "Uganda",
    "260": "Zambia", "263": "Zimbabwe", "351": "Portugal", "352": "Luxembourg",
    "353": "Ireland", "354": "Iceland", "355": "Albania", "356": "Malta",
    "357": "Cyprus", "358": "Finland", "359": "Bulgaria", "370": "Lithuania",
    "371": "Latvia", "372": "Estonia", "373": "Moldova", "374": "Armenia",
    "375": "Belarus", "380": "Ukraine", "381": "Serbia", "385": "Croatia",
    "386": "Slovenia", "420": "Czechia", "421": "Slovakia", "852": "Hong Kong",
    "880": "Bangladesh", "886": "Taiwan", "961": "Lebanon", "962": "Jordan",
    "963": "Syria", "964": "Iraq", "965": "Kuwait", "966": "Saudi Arabia",
    "971": "UAE", "972": "Israel", "974": "Qatar", "977": "Nepal",
}
KINDS = ("Fixed", "Mobile", "Mobile Premium", "Special Services", "Fixed Proper")
HEADER = ["Dial Code", "Destination", "Rate per minute", "Billing", "Status"]


def generate_deck(path: Path, rows: int, seed: int = 4) -> None:
    codes = sorted(CODES)
    per_code = -(-rows // len(codes))
    if per_code > 100_000:
        raise SystemExit("too many rows for 5-digit suffixes per code")
    rng = random.Random(seed)
    i = pl.int_range(0, rows, eager=True, dtype=pl.Int64)
    code_index = (i // per_code).cast(pl.Int64)
    code = pl.Series(codes).gather(code_index)
    name = pl.Series([CODES[c] for c in codes]).gather(code_index)
    suffix = (i % per_code) * (100_000 // per_code)
    cents = pl.Series([rng.randrange(1, 2_000_000) for _ in range(rows)], dtype=pl.Int64)
    frame = pl.DataFrame({"code": code, "name": name, "suffix": suffix, "c": cents})
    frame = frame.select(
        (pl.col("code") + pl.col("suffix").cast(pl.String).str.pad_start(5, "0"))
        .alias(HEADER[0]),
        (pl.col("name") + pl.lit(" ")
         + pl.Series([KINDS[k % len(KINDS)] for k in range(rows)])).alias(HEADER[1]),
        ((pl.col("c") // 100_000).cast(pl.String) + pl.lit(".")
         + (pl.col("c") % 100_000).cast(pl.String).str.pad_start(5, "0"))
        .alias(HEADER[2]),
        pl.when(pl.col("c") % 3 == 0).then(pl.lit("1/1")).otherwise(pl.lit("60/60"))
        .alias(HEADER[3]),
        pl.when(pl.col("c") % 50 == 0).then(pl.lit("blocked")).otherwise(pl.lit("active"))
        .alias(HEADER[4]),
    )
    frame.write_csv(path)


def new_database(directory: Path) -> tuple[str, int]:
    url = f"sqlite:///{directory / 'orchestrator.db'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        carrier = Carrier(name="Bench carrier", currency="USD")
        session.add(carrier)
        session.flush()
        card = ProviderCard(name="Bench card", carrier_id=carrier.id, currency="USD")
        session.add(card)
        session.flush()
        ours = RateRevision(provider_card_id=card.id, number=1, source="bench")
        naive = RateRevision(provider_card_id=card.id, number=2, source="naive")
        session.add_all([ours, naive])
        session.commit()
        revision = ours.id
    engine.dispose()
    return url, revision


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """User + system CPU time of this process (all threads): on a busy machine (other
    jobs on the same cores) it stays close to the wall time of an idle one."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------- child phases

def phase_import(deck: Path, url: str, revision: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    engine = make_engine(url)
    started, cpu_started = time.perf_counter(), cpu_seconds()
    data = deck.read_bytes()
    table = read_deck(data)
    figures["read"] = time.perf_counter() - started
    mark = time.perf_counter()
    result = validate(table, suggest_mapping(table))
    figures["validate"] = time.perf_counter() - mark
    if result.frame is None:
        raise SystemExit(f"deck refused: {result.errors[:3]}")
    mark = time.perf_counter()
    with engine.connect() as connection:
        rows = write_rates(connection, revision, result.frame)
        connection.commit()
    figures["write"] = time.perf_counter() - mark
    figures["total"] = time.perf_counter() - started
    figures["cpu"] = cpu_seconds() - cpu_started
    figures["rows"] = rows
    figures["peak_rss_mb"] = peak_rss_mb()
    return figures


def phase_export(url: str, revision: int, out: Path) -> dict[str, float]:
    figures: dict[str, float] = {}
    engine = make_engine(url)
    with engine.connect() as connection:
        mark, cpu_mark = time.perf_counter(), cpu_seconds()
        frame = read_rates(connection, revision)
        figures["read_rates"] = time.perf_counter() - mark
        figures["read_rates_cpu"] = cpu_seconds() - cpu_mark
    for fmt in ("csv", "xlsx"):
        mark, cpu_mark = time.perf_counter(), cpu_seconds()
        export(frame, fmt, out / f"export.{fmt}")
        figures[fmt] = time.perf_counter() - mark
        figures[f"{fmt}_cpu"] = cpu_seconds() - cpu_mark
        figures[f"{fmt}_total"] = figures[fmt] + figures["read_rates"]
        figures[f"{fmt}_mb"] = (out / f"export.{fmt}").stat().st_size / 1e6
    figures["peak_rss_mb"] = peak_rss_mb()
    return figures


def child(phase: str, *args: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--phase", phase, *args],
                          check=True, capture_output=True, text=True)
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


# ---------------------------------------------------------------- naive

def naive_import(deck: Path, url: str, revision: int, rows: int) -> float:
    """csv.DictReader + parse_units + session.add(Rate(...)) per row."""
    engine = make_engine(url)
    started = time.perf_counter()
    with deck.open(newline="", encoding="utf-8") as handle, Session(engine) as session:
        for n, row in enumerate(csv.DictReader(handle)):
            if n >= rows:
                break
            mcd, pulse = row[HEADER[3]].split("/")
            session.add(Rate(revision_id=revision, prefix=row[HEADER[0]].strip(),
                             name=row[HEADER[1]].strip(),
                             rate=parse_units(row[HEADER[2]]), mcd=int(mcd),
                             pulse=int(pulse), connect_fee=0,
                             status=row[HEADER[4]].strip().lower() or "active"))
        session.commit()
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def naive_export(url: str, revision: int, rows: int, out: Path) -> float:
    """ORM objects in prefix order, one csv.writer row each."""
    engine = make_engine(url)
    started = time.perf_counter()
    with Session(engine) as session, (out / "naive.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prefix", "name", "rate", "inter", "intra", "mcd", "pulse",
                         "connect_fee", "status"])
        query = (select(Rate).where(Rate.revision_id == revision).order_by(Rate.prefix)
                 .limit(rows))
        for rate in session.scalars(query):
            writer.writerow([rate.prefix, rate.name, format_units(rate.rate),
                             "" if rate.inter is None else format_units(rate.inter),
                             "" if rate.intra is None else format_units(rate.intra),
                             rate.mcd, rate.pulse, format_units(rate.connect_fee),
                             rate.status])
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def naive_page(session: Session, revision: int, prefix: str) -> int:
    condition = (Rate.revision_id == revision) & Rate.prefix.like(f"{prefix}%")
    list(session.scalars(select(Rate).where(condition).order_by(Rate.prefix).limit(50)))
    return int(session.scalar(select(func.count()).select_from(Rate).where(condition)) or 0)


# ---------------------------------------------------------------- report

def calibration_ms() -> float:
    """Best of 5 of a fixed pure-Python loop: ~15-20 ms on an idle current x86 core;
    larger means a slower or busier machine (scale the figures below by it)."""
    best = float("inf")
    for _ in range(5):
        mark = time.perf_counter()
        sum(range(10**6))
        best = min(best, time.perf_counter() - mark)
    return best * 1000


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        memory = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text()
                          .splitlines() if line.startswith("MemTotal"))) / 2**20
    except (OSError, StopIteration):
        memory = 0.0
    return (f"{platform.node()} | {cpu} | {os.cpu_count()} CPUs | {memory:.1f} GiB RAM | "
            f"{platform.system()} {platform.release()} | Python {platform.python_version()}"
            f" | polars {pl.__version__} | SQLite {sqlite3.sqlite_version} | "
            f"load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())} | "
            f"CPU calibration sum(range(10**6)) = {calibration_ms():.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--naive-rows", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--phase", choices=("import", "export"), help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.phase == "import":
        deck, url, revision = options.args
        print(json.dumps(phase_import(Path(deck), url, int(revision))))
        return
    if options.phase == "export":
        url, revision, out = options.args
        print(json.dumps(phase_export(url, int(revision), Path(out))))
        return

    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="ratecards-io-") as temp:
        directory = Path(temp)
        deck = directory / "deck.csv"
        mark = time.perf_counter()
        generate_deck(deck, options.rows)
        print(f"deck: {options.rows:,} rows, {deck.stat().st_size / 1e6:.1f} MB CSV "
              f"(generated in {time.perf_counter() - mark:.1f} s)")
        url, revision = new_database(directory)
        naive_revision = revision + 1

        imp = child("import", str(deck), url, str(revision))
        print(f"\nIMPORT {int(imp['rows']):,} rows end to end: {imp['total']:.2f} s "
              f"(read {imp['read']:.2f} + validate {imp['validate']:.2f} + "
              f"write_rates {imp['write']:.2f}), CPU time {imp['cpu']:.2f} s, peak RSS "
              f"{imp['peak_rss_mb']:.0f} MB [target < 20 s, < 2048 MB]")
        naive_s = naive_import(deck, url, naive_revision, options.naive_rows)
        naive_rate = options.naive_rows / naive_s
        naive_full = options.rows / naive_rate
        print(f"  naive ORM import: {options.naive_rows:,} rows in {naive_s:.2f} s = "
              f"{naive_rate:,.0f} rows/s -> {options.rows:,} rows ~ {naive_full:.0f} s; "
              f"ratio naive/ours = {naive_full / imp['total']:.1f}x")

        exp = child("export", url, str(revision), str(directory))
        print(f"\nEXPORT {options.rows:,} rows: CSV {exp['csv_total']:.2f} s "
              f"(read_rates {exp['read_rates']:.2f} + write {exp['csv']:.2f}, "
              f"{exp['csv_mb']:.1f} MB; CPU time "
              f"{exp['read_rates_cpu'] + exp['csv_cpu']:.2f} s) [target < 10 s]; XLSX "
              f"{exp['xlsx_total']:.2f} s (write {exp['xlsx']:.2f}, {exp['xlsx_mb']:.1f} MB; "
              f"CPU time {exp['read_rates_cpu'] + exp['xlsx_cpu']:.2f} s); "
              f"peak RSS {exp['peak_rss_mb']:.0f} MB")
        naive_export_s = naive_export(url, revision, options.naive_rows, directory)
        naive_export_full = naive_export_s * options.rows / options.naive_rows
        print(f"  naive ORM export (CSV): {options.naive_rows:,} rows in "
              f"{naive_export_s:.2f} s -> {options.rows:,} rows ~ {naive_export_full:.0f} s;"
              f" ratio naive/ours = {naive_export_full / exp['csv_total']:.1f}x")

        engine = make_engine(url)
        rng = random.Random(11)
        codes = sorted(CODES)
        searches = [rng.choice(codes) + str(rng.randrange(10)) * rng.randrange(0, 2)
                    for _ in range(options.runs)]
        ours_ms: list[float] = []
        totals: list[int] = []
        with engine.connect() as connection:
            page_rates(connection, revision, prefix="44")  # warm the page cache
            for prefix in searches:
                mark = time.perf_counter()
                _rows, total = page_rates(connection, revision, prefix=prefix, limit=50)
                ours_ms.append((time.perf_counter() - mark) * 1000)
                totals.append(total)
        naive_ms: list[float] = []
        with Session(engine) as session:
            for prefix in searches:
                mark = time.perf_counter()
                naive_page(session, revision, prefix)
                naive_ms.append((time.perf_counter() - mark) * 1000)
        name_ms: list[float] = []
        with engine.connect() as connection:
            for word in ("mobile premium", "ireland", "kenya fixed")[: max(options.runs // 10,
                                                                           1)]:
                mark = time.perf_counter()
                page_rates(connection, revision, name=word)
                name_ms.append((time.perf_counter() - mark) * 1000)
        engine.dispose()

        def p95(values: list[float]) -> float:
            return sorted(values)[max(int(len(values) * 0.95) - 1, 0)]

        median, naive_median = statistics.median(ours_ms), statistics.median(naive_ms)
        print(f"\nBROWSE prefix search, page of 50 + count, {options.runs} runs "
              f"(matches per search {min(totals):,}-{max(totals):,}): median "
              f"{median:.2f} ms, p95 {p95(ours_ms):.2f} ms [target < 200 ms]")
        print(f"  naive ORM LIKE 'x%' + count(): median {naive_median:.2f} ms, p95 "
              f"{p95(naive_ms):.2f} ms; ratio naive/ours = {naive_median / median:.1f}x")
        print(f"  name substring search (scan), {len(name_ms)} runs: median "
              f"{statistics.median(name_ms):.0f} ms")
        print(f"\nload average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
              f"CPU calibration {calibration_ms():.0f} ms")


if __name__ == "__main__":
    main()
