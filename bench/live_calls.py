"""Live calls listing (docs/live-calls.md): how long ``list_calls`` takes with N calls up.

Starts a private data plane (Kamailio + rtpengine on free loopback ports, as the
integration tests do), one SIPp carrier that answers and holds, one customer route
with media proxied by the local rtpengine, then for each N in ``--calls`` brings the
number of calls up to N (SIPp customer, long hold) and times, median of ``--repeat``:

- ``dlg.list``: the JSON-RPC call alone (all dialogs in one answer);
- ``list_calls``: what the page, the API and the CLI call (dlg.list + parsing + names
  from the model + one rtpengine ``query`` per proxied call).

    .venv/bin/python bench/live_calls.py [--calls 100,500,1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestrator.calls import service
from orchestrator.kamailio import KamailioRPC, dlg
from tests.support.carriers import CarrierFarm
from tests.support.dataplane import start_dataplane, test_settings
from tests.support.ports import free_port, rtp_range
from tests.support.sipp import Sipp, uac

HOLD_MS = 3_600_000


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()
    return (f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores, "
            f"load {load[0]:.2f} {load[1]:.2f}; Python {platform.python_version()}")


def median_ms(work: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def wait_dialogs(rpc: KamailioRPC, count: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    up = 0
    while time.monotonic() < deadline:
        up = dlg.stats_active(rpc).ongoing
        if up >= count:
            return up
        time.sleep(0.5)
    return up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", default="100,500,1000")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    steps = sorted({int(n) for n in args.calls.split(",")})
    print(f"machine: {machine()}")
    work = Path(tempfile.mkdtemp(prefix="bench-live-calls-"))
    rtp_min, rtp_max = rtp_range(size=8 * steps[-1] + 400)
    settings = test_settings(work / "plane", rtp_port_min=rtp_min, rtp_port_max=rtp_max,
                             kamailio_shm_mb=1024, kamailio_children=4)
    plane = start_dataplane(settings)
    customers: list[Sipp] = []
    try:
        with CarrierFarm(work / "farm") as farm:
            port = farm.add("carrier", "answer", options="none")
            w = plane.world()
            card = w.provider_card(w.carrier([port]), {"44": "0.01"})
            src = plane.source_ip()
            w.route(w.customer(ips_=[src]), w.tariff([card]))
            w.commit()
            w.close()
            plane.apply()
            rpc = KamailioRPC(settings.rpc_url, timeout=30)
            up = 0
            print(f"{'calls':>6} {'dlg.list ms':>12} {'list_calls ms':>14} {'per call us':>12}")
            for target in steps:
                more = target - up
                (work / f"c{target}").mkdir()
                customers.append(uac(work / f"c{target}", plane.target, "4420123456",
                                     port=free_port(), ip=src, calls=more, rate=200,
                                     hold_ms=HOLD_MS).start(
                    output=work / f"c{target}" / "out.log"))
                up = wait_dialogs(rpc, target, timeout=more / 100 + 30)
                if up < target:
                    print(f"only {up} of {target} calls came up; stopping")
                    break
                raw = median_ms(lambda: dlg.list_dialogs(rpc), args.repeat)
                with plane.sessions() as session:
                    found = service.list_calls(session, settings)
                    assert len(found) >= target, len(found)
                    full = median_ms(lambda: service.list_calls(session, settings),
                                     args.repeat)
                print(f"{up:>6} {raw:>12.1f} {full:>14.1f} {full * 1000 / up:>12.0f}")
            for sipp in customers:
                sipp.terminate()
    finally:
        for sipp in customers:
            sipp.terminate()
        plane.stop()


if __name__ == "__main__":
    main()
