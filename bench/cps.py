#!/usr/bin/env python3
"""Call-rate benchmark: the highest calls/s each Kamailio configuration relays cleanly.

For each configuration (a minimal stateful relay and the project's own config routing
with a full model, each with and without rtpengine media anchoring) it searches the
highest call rate at which at most 0.1 % of SIPp calls fail, then prints the four
figures, the two ratios project/minimal, and the machine.  Everything runs on loopback,
on free ports, in a temporary directory; every process it starts is stopped by pid,
also on Ctrl-C.  The parts live in bench/cpslib/.

Run:  .venv/bin/python bench/cps.py [--quick] [--json] [--configs ...]
See bench/README.md for the method and how to read the output.
"""

from __future__ import annotations

import argparse
import math
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from cpslib.machine import machine_info
from cpslib.processes import Interrupted, Registry, on_signal
from cpslib.report import json_report, text_report
from cpslib.search import Result, search
from cpslib.trial import Bench, Plan, Variant

from orchestrator.settings import Settings
from orchestrator.stack.processes import ProcessError

# Measured in this order: each project figure right after its minimal reference, so
# that the two numbers of a ratio are taken close together in time.
VARIANTS = (
    Variant("minimal-nomedia", "minimal", False),
    Variant("project-nomedia", "project", False),
    Variant("minimal-media", "minimal", True),
    Variant("project-media", "project", True),
)
# Settings the bench chooses itself (free ports, temporary paths).
BENCH_OWNED = frozenset({
    "var_dir", "sip_ip", "sip_port", "rpc_port", "rtpengine_ng_port", "web_port", "media_ip",
    "rtp_port_min", "rtp_port_max", "database_url", "templates_dir", "secret_key",
})
GROUPS = {
    "all": [v.key for v in VARIANTS],
    "minimal": ["minimal-nomedia", "minimal-media"],
    "project": ["project-nomedia", "project-media"],
    "media": ["minimal-media", "project-media"],
    "nomedia": ["minimal-nomedia", "project-nomedia"],
}
FULL = Plan(duration_s=8, hold_ms=1000, max_trials=9, precision=1.1,
            min_rate=25, max_rate=4000, start_rate=400)
QUICK = Plan(duration_s=3, hold_ms=500, max_trials=5, precision=1.3,
             min_rate=25, max_rate=4000, start_rate=400, retry_failures=False,
             budget_s=240.0)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/cps.py",
        description=(
            "Find the highest call rate (calls/s) that Kamailio relays with at most "
            "0.1 % failed SIPp calls, for a minimal stateful relay config (the physical "
            "limit of this machine) and for the project's config routing with a full "
            "model (IP auth, tech prefix, dial string, a tariff of --prefixes prefixes "
            "with 5 carriers, limits, dialog), each with rtpengine media anchoring and "
            "without; print the four figures, the ratios "
            "project/minimal and the machine. Loopback only; every process started is "
            "stopped, also on Ctrl-C."
        ),
        epilog=(
            "configs: " + ", ".join(v.key for v in VARIANTS) + "; groups: "
            + ", ".join(GROUPS) + ". Example: bench/cps.py --quick --configs media. "
            "Method and reading the output: bench/README.md."
        ),
    )
    parser.add_argument("--quick", action="store_true",
                        help="smoke check: 3 s trials, at most 5 trials per config "
                             "(coarse figures, about 3-4 minutes in all with the model)")
    parser.add_argument("--prefixes", type=int, default=300_000, metavar="N",
                        help="prefixes of the project model's tariff (default 300000; "
                             "-m and -M follow it)")
    parser.add_argument("--json", action="store_true",
                        help="print the result as JSON on stdout (progress stays on stderr)")
    parser.add_argument("--configs", default="all", metavar="LIST",
                        help="comma-separated configs or groups to measure (default: all)")
    parser.add_argument("--max-trials", type=int, metavar="N",
                        help="override the number of trials per config (retries included)")
    parser.add_argument("--start-rate", type=int, metavar="CPS",
                        help="first rate tried for the minimal configs (default 400); the "
                             "project configs start at their minimal reference's figure")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work directory (configs, logs, SIPp statistics)")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE",
                        help="override a project setting for every config, e.g. "
                             "kamailio_shm_mb=1024 or kamailio_children=8 (repeatable; "
                             "the minimal config follows children and memory too)")
    parser.add_argument("--trace-errors", action="store_true",
                        help="SIPp writes the messages of failed calls to errors.log in "
                             "each trial's directory (use with --keep)")
    args = parser.parse_args(argv)
    wanted: list[str] = []
    for item in (x.strip() for x in args.configs.split(",") if x.strip()):
        if item in GROUPS:
            wanted += GROUPS[item]
        elif item in {v.key for v in VARIANTS}:
            wanted.append(item)
        else:
            parser.error(f"unknown config {item!r}; choose from "
                         + ", ".join([v.key for v in VARIANTS] + list(GROUPS)))
    if not wanted:
        parser.error("--configs selects nothing")
    args.variants = [v for v in VARIANTS if v.key in wanted]
    args.overrides = {}
    for item in args.setting:
        name, sep, value = item.partition("=")
        if not sep or name not in Settings.model_fields or name in BENCH_OWNED:
            parser.error(f"--setting {item!r}: expected NAME=VALUE with a settings field "
                         "other than " + ", ".join(sorted(BENCH_OWNED)))
        args.overrides[name] = value
    if args.overrides:
        try:
            Settings(**args.overrides)
        except ValueError as exc:
            parser.error(f"--setting: {exc}")
    return args


def check_tools() -> None:
    missing = [tool for tool in ("kamailio", "rtpengine", "sipp") if shutil.which(tool) is None]
    if missing:
        raise SystemExit("missing: " + ", ".join(missing)
                         + " (install the Debian packages: `make bench` does it as root)")


def check_imports() -> None:
    """orchestrator.stack.daemons needs the RPC and ng clients of the project."""
    try:
        from orchestrator.stack import daemons  # noqa: F401
    except ImportError as exc:
        raise SystemExit(f"cannot import orchestrator.stack.daemons ({exc}); "
                         "the project is incomplete or not installed (make install)") from exc


def run(args: argparse.Namespace, registry: Registry) -> int:
    check_tools()
    check_imports()
    plan = QUICK if args.quick else FULL
    if args.max_trials:
        plan = Plan(**(asdict(plan) | {"max_trials": args.max_trials}))
    if args.start_rate:
        plan = Plan(**(asdict(plan) | {"start_rate": args.start_rate}))

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    machine = machine_info()
    log(f"machine: {machine['line']}")
    began = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="cps-bench-"))
    results: dict[str, Result] = {}
    try:
        bench = Bench(workdir, plan, registry, log, args.trace_errors, args.overrides,
                      prefixes=args.prefixes)
        project = [v for v in args.variants if v.config == "project"]
        if project:  # outside the search's time budget
            bench.prepare_project(project[0])
        deadline = time.monotonic() + plan.budget_s
        for index, variant in enumerate(args.variants):
            # a project config starts at its minimal reference's figure, with finer steps
            start, step = None, 2.0
            if variant.config == "project":
                ref = results.get(f"minimal-{'media' if variant.media else 'nomedia'}")
                if ref is not None and ref.best:
                    start, step = ref.best, math.sqrt(2)
            log(f"{variant.label} ...")
            share = (deadline - time.monotonic()) / (len(args.variants) - index)
            results[variant.key] = search(bench, variant, start, step,
                                          deadline=time.monotonic() + share)
    finally:
        registry.stop_all()
        if args.keep:
            log(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    seconds = time.monotonic() - began
    command = ["bench/cps.py", *sys.argv[1:]]
    report = json_report if args.json else text_report
    print(report(machine, plan, results, bench.settings_used, seconds, command,
                 bench.model_info))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    registry = Registry()
    # Ctrl-C also when started in the background (where SIGINT would be ignored)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    try:
        return run(args, registry)
    except (KeyboardInterrupt, Interrupted):
        print("\ninterrupted: every process started was stopped", file=sys.stderr)
        return 130
    except (ProcessError, RuntimeError) as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    finally:
        registry.stop_all()


if __name__ == "__main__":
    sys.exit(main())
