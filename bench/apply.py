#!/usr/bin/env python3
"""Switch apply of a 1,000,000-prefix tariff with a real Kamailio (issue 5).

Builds the bench model (bench/cpslib/model.py: a customer card built from --carriers
provider cards of --prefixes random prefixes, 5 carriers, a customer with IP auth, two
routes with tech prefix and dial string) in a temporary var dir, starts Kamailio with
the project's config on free loopback ports (-x tlsf, -m 3072, -M 600 by default, an
empty table file), then times two applies exactly as the switch.apply job runs them
(``compile_snapshot`` + ``apply_local``):

1. the first apply: compile, tariff rows (the tree's mtree rows from the built card),
   write_generation (the table file), reloads (preflight, then permissions, htable,
   dialplan, dispatcher, mtree), verify, flip;
2. a second apply after a route's cps limit changed (a new snapshot, the same tariff:
   the tree is shared by both generations, so no tariff row is produced or written,
   but mtree.reload still reloads every tree from the table file).

It prints seconds per phase, the total, the tree's shared memory (mtree.summary
memsize) and bytes per prefix, Kamailio's shared memory (used, peak) and the machine.
Targets: an apply under 30 s, under 1 KB of shared memory per prefix. Every process
started is stopped by pid, also on Ctrl-C.

    .venv/bin/python bench/apply.py [--prefixes 1000000] [--carriers 5] [--json] [--keep]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cpslib import model
from cpslib.machine import machine_info
from cpslib.processes import LOOPBACK, Interrupted, Registry, free_port, on_signal, rtp_range
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.compile.configs import write_configs
from orchestrator.kamailio import core, mtree
from orchestrator.routing import routes
from orchestrator.routing.models import IngressRoute
from orchestrator.settings import Settings
from orchestrator.stack.processes import ProcessError, wait_until
from orchestrator.switch.nodes import local_node

TARGET_S = 30.0
TARGET_BYTES_PER_PREFIX = 1024
MB = 1 << 20
# apply_snapshot's progress percent at the start of each step (one node)
STEPS = {0: "write", 25: "reload", 50: "verify", 75: "flip", 100: "done"}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def timed_apply(sessions: sessionmaker[Session], settings: Settings) -> dict[str, Any]:
    """Compile and apply the model once; seconds per phase and what was written."""
    began = time.monotonic()
    snapshot = model.compile_model(sessions, settings)
    compiled = time.monotonic()
    marks: dict[str, float] = {}

    def progress(percent: int, message: str) -> None:
        marks.setdefault(STEPS.get(percent, message), time.monotonic())

    timed: dict[str, float] = {}
    report = model.apply_model(sessions, settings, snapshot, timed=timed, progress=progress)
    ended = time.monotonic()
    node = report.nodes[0]
    modules = {k.removeprefix("reload:"): v for k, v in node.timings.items()
               if k.startswith("reload:")}
    reload_s = marks["verify"] - marks["reload"]
    rows_s = timed.get("tariff_rows", 0.0)
    return {
        "snapshot": snapshot.version[:12], "generation": node.generation,
        "tariff_rows_produced": "tariff_rows" in timed,
        "seconds": {
            "compile": compiled - began,
            "tariff_rows": rows_s,
            "write_generation": marks["reload"] - marks["write"] - rows_s,
            "reload": reload_s,
            "verify": marks["flip"] - marks["verify"],
            "flip": marks["done"] - marks["flip"],
            "record": ended - marks["done"],
            "total": ended - began,
        },
        "reloads": {"preflight": reload_s - sum(modules.values()), **modules},
    }


def memory(settings: Settings) -> dict[str, Any]:
    rpc = local_node(settings).rpc()
    shm = core.shmmem(rpc)
    trees = [{"name": t.name, "items": t.nritems, "memsize": t.memsize}
             for t in mtree.summary(rpc) if not t.name.startswith("ing")]
    return {"shm_used": shm.real_used, "shm_peak": shm.max_used, "shm_total": shm.total,
            "trees": trees}


def change_route(sessions: sessionmaker[Session]) -> None:
    """A new snapshot with the same tariff: the first route's cps limit changes."""
    with sessions() as session:
        route = session.query(IngressRoute).order_by(IngressRoute.id).first()
        assert route is not None
        routes.update_route(session, model.ADMIN, route.customer_id, route.id,
                            {"cps": model.LIMIT - 1})
        session.commit()


def phase_lines(title: str, run: dict[str, Any]) -> list[str]:
    sec = run["seconds"]
    reloads = ", ".join(f"{k} {v:.1f}" for k, v in run["reloads"].items())
    verdict = "met" if sec["total"] < TARGET_S else "NOT met"
    return [
        f"{title} (snapshot {run['snapshot']}, generation {run['generation']}):",
        f"  compile            {sec['compile']:7.2f} s",
        f"  tariff rows        {sec['tariff_rows']:7.2f} s"
        + ("" if run["tariff_rows_produced"] else "  (none: the tree is shared, no rows)"),
        f"  write_generation   {sec['write_generation']:7.2f} s  (table file, without the "
        "tariff rows' production)",
        f"  reloads            {sec['reload']:7.2f} s  ({reloads})",
        f"  verify             {sec['verify']:7.2f} s",
        f"  flip               {sec['flip']:7.2f} s",
        f"  record snapshot    {sec['record']:7.2f} s",
        f"  total              {sec['total']:7.2f} s  [target < {TARGET_S:.0f} s: {verdict}]",
    ]


def text_report(result: dict[str, Any]) -> str:
    cfg = result["kamailio"]
    mod = result["model"]
    lines = [
        f"Switch apply of a {mod['prefixes']:,}-prefix tariff (bench/apply.py)",
        f"machine: {result['machine']['line']}",
        f"kamailio: -m {cfg['shm_mb']} MB, -M {cfg['pkg_mb']} MB, -x tlsf, children "
        f"{cfg['children']}; model: {mod['prefixes']:,} prefixes x {mod['carriers']} "
        f"provider cards (built in {mod['setup_s']:.0f} s, not timed); table file "
        f"{mod['table_file_mb']:.0f} MB",
        "",
        *phase_lines("first apply: tariff tree written", result["first"]),
    ]
    for tree in result["memory_first"]["trees"]:
        per = tree["memsize"] / max(tree["items"], 1)
        verdict = "met" if per < TARGET_BYTES_PER_PREFIX else "NOT met"
        lines.append(f"  tree {tree['name']}: {tree['items']:,} prefixes, "
                     f"{tree['memsize'] / MB:.0f} MB shared memory = {per:.0f} bytes/prefix "
                     f"[target < {TARGET_BYTES_PER_PREFIX}: {verdict}]")
    mem = result["memory_first"]
    lines.append(f"  Kamailio shared memory: {mem['shm_used'] / MB:.0f} MB used, peak "
                 f"{mem['shm_peak'] / MB:.0f} MB, of {mem['shm_total'] / MB:.0f} MB")
    lines += ["", *phase_lines("second apply: route limit changed, tariff unchanged",
                               result["second"])]
    mem = result["memory_second"]
    lines.append(f"  Kamailio shared memory: {mem['shm_used'] / MB:.0f} MB used, peak "
                 f"{mem['shm_peak'] / MB:.0f} MB")
    lines += ["", f"peak RSS of this process {result['rss_mb']:.0f} MB; total "
              f"{result['seconds']:.0f} s; command: {result['command']}"]
    return "\n".join(lines)


def run(args: argparse.Namespace, registry: Registry) -> dict[str, Any]:
    from orchestrator.stack import daemons

    machine = machine_info()
    log(f"machine: {machine['line']}")
    began = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="apply-bench-"))
    try:
        rtp_min, rtp_max = rtp_range()
        settings = Settings(
            var_dir=workdir, sip_ip=LOOPBACK, sip_port=free_port(), rpc_port=free_port(),
            rtpengine_ng_port=free_port(), web_port=free_port(), media_ip=LOOPBACK,
            rtp_port_min=rtp_min, rtp_port_max=rtp_max, secret_key="bench",
            kamailio_shm_mb=args.shm_mb, kamailio_pkg_mb=args.pkg_mb)
        sessions = model.open_model(settings)
        model.build_model(settings, sessions, model.ModelSpec(
            gateway_port=free_port(), prefixes=args.prefixes, carriers=args.carriers), log)
        setup_s = time.monotonic() - began
        configs = write_configs(settings)
        kamailio = daemons.kamailio_process(settings, configs.kamailio_cfg)
        registry.add(kamailio)
        kamailio.start()
        wait_until(lambda: daemons.kamailio_ready(settings), daemons.READY_TIMEOUT,
                           "JSON-RPC answers", kamailio)
        log("first apply ...")
        first = timed_apply(sessions, settings)
        memory_first = memory(settings)
        log(f"first apply: {first['seconds']['total']:.1f} s; second apply ...")
        change_route(sessions)
        second = timed_apply(sessions, settings)
        memory_second = memory(settings)
        table_mb = settings.switch_db.stat().st_size / MB
        registry.stop(kamailio)
    finally:
        registry.stop_all()
        if args.keep:
            log(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return {
        "machine": machine,
        "kamailio": {"shm_mb": settings.kamailio_shm_mb, "pkg_mb": settings.kamailio_pkg_mb,
                     "children": settings.kamailio_children},
        "model": {"prefixes": args.prefixes, "carriers": args.carriers,
                  "setup_s": round(setup_s, 1), "table_file_mb": round(table_mb, 1)},
        "first": first, "memory_first": memory_first,
        "second": second, "memory_second": memory_second,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "seconds": round(time.monotonic() - began, 1),
        "command": " ".join(["bench/apply.py", *sys.argv[1:]]),
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/apply.py",
        description="Time a switch apply of a big tariff (compile, tariff rows, table "
                    "file, reloads, verify, flip) with a real Kamailio, then a second "
                    "apply with the same tariff; print the phases, the tree's shared "
                    "memory per prefix and the machine.")
    parser.add_argument("--prefixes", type=int, default=1_000_000, metavar="N",
                        help="prefixes of the tariff (default 1000000)")
    parser.add_argument("--carriers", type=int, default=5, metavar="N",
                        help="provider cards (one per carrier) the tariff is built from, "
                             "each with every prefix: candidates per prefix (default 5)")
    parser.add_argument("--shm-mb", type=int, default=3072, help="Kamailio -m (default 3072)")
    parser.add_argument("--pkg-mb", type=int, default=600, help="Kamailio -M (default 600)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work directory (model, table file, Kamailio log)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    registry = Registry()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    try:
        result = run(args, registry)
    except (KeyboardInterrupt, Interrupted):
        print("\ninterrupted: every process started was stopped", file=sys.stderr)
        return 130
    except (ProcessError, RuntimeError) as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    finally:
        registry.stop_all()
    print(json.dumps(result, indent=2) if args.json else text_report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
