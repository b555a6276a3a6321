"""The machine line every bench prints: CPU, cores, memory, kernel, daemon versions."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import re
import subprocess
from pathlib import Path


# --------------------------------------------------------------------------- machine
def _first_line(argv: list[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    return lines[0].strip() if lines else "?"


def machine_info() -> dict[str, str]:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    kam = _first_line(["kamailio", "-v"])
    kam_match = re.search(r"kamailio (\S+)", kam)
    rtp = _first_line(["rtpengine", "--version"])
    sipp = ""
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        out = subprocess.run(["sipp", "-v"], capture_output=True, text=True, timeout=10,
                             check=False)
        sipp_match = re.search(r"SIPp (v[\w.]+)", out.stdout + out.stderr)
        sipp = sipp_match.group(1) if sipp_match else "?"
    info = {
        "cpu": cpu,
        "cores": str(os.cpu_count() or "?"),
        "memory": mem_gib,
        "kernel": f"{platform.system()} {platform.release()}",
        "kamailio": kam_match.group(1) if kam_match else kam,
        "rtpengine": rtp.removeprefix("Version:").strip(),
        "sipp": sipp or "?",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }
    info["line"] = (
        f"{info['cpu']}, {info['cores']} cores, {info['memory']} RAM, {info['kernel']}, "
        f"Kamailio {info['kamailio']}, rtpengine {info['rtpengine']}, "
        f"SIPp {info['sipp']}, {info['date']}, load average {info['load']}"
    )
    return info

