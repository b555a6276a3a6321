"""The report: four figures, two ratios project/minimal, CPU per call, brackets."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from cpslib.search import Result
from cpslib.trial import MAX_FAIL_RATIO, RECV_TIMEOUT_MS, Plan
from orchestrator.settings import Settings

# What the project configs route with, and what they do not do yet.
PROJECT_LINE = ("project: routes by the model: IP auth, tech prefix, dial string (dialplan), "
                "tariff mtree of {prefixes:,} prefixes with {carriers} carriers' candidates, "
                "customer/route/carrier channel and cps limits, dialog, header policy, "
                "abuse checks, topology hiding unless --setting topology_hiding=false, "
                "credit control (cnxcc), a CDR per call unless --setting cdrs=false")
CDR_NOTE = ("not in the trials: the CDR collector process (it reads the CDR files "
            "afterwards; run the stack to include it)")


def ratios(results: dict[str, Result]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for media in ("nomedia", "media"):
        mini, proj = results.get(f"minimal-{media}"), results.get(f"project-{media}")
        if mini is None or proj is None:
            continue
        if mini.best and proj.best is not None:
            out[media] = round(proj.best / mini.best, 2)
        else:
            out[media] = None
    return out


def cpu_comparison(results: dict[str, Result]) -> dict[str, dict[str, Any]]:
    """Kamailio (and rtpengine) CPU per call of both configs at one rate both ran.

    CPU per call at equal load is much less sensitive to the noise of a shared machine
    than the highest clean rate, so it backs up (or questions) the ratio of rates.
    """
    out: dict[str, dict[str, Any]] = {}
    for media in ("nomedia", "media"):
        mini, proj = results.get(f"minimal-{media}"), results.get(f"project-{media}")
        if mini is None or proj is None:
            continue
        # per rate, the passing try if there is one (the last try otherwise)
        by_rate = [{t.rate: t for t in sorted(res.trials, key=lambda t: t.ok)}
                   for res in (mini, proj)]
        common = set(by_rate[0]) & set(by_rate[1])
        passed = {r for r in common if by_rate[0][r].ok and by_rate[1][r].ok}
        if not common:
            continue
        rate = max(passed or common)
        m, p = by_rate[0][rate], by_rate[1][rate]
        entry: dict[str, Any] = {
            "rate": rate, "both_passed": rate in passed,
            "kamailio_us": {"minimal": m.kamailio_cpu_us_per_call,
                            "project": p.kamailio_cpu_us_per_call},
            "rtpengine_us": {"minimal": m.rtpengine_cpu_us_per_call,
                             "project": p.rtpengine_cpu_us_per_call},
        }
        if m.kamailio_cpu_us_per_call and p.kamailio_cpu_us_per_call:
            entry["kamailio_project_over_minimal"] = round(
                p.kamailio_cpu_us_per_call / m.kamailio_cpu_us_per_call, 2)
        out[media] = entry
    return out


def _us(value: float | None) -> str:
    return "?" if value is None else f"{value:.0f} us"


def text_report(machine: dict[str, str], plan: Plan, results: dict[str, Result],
                settings: Settings | None, seconds: float, argv: list[str],
                model: dict[str, Any]) -> str:
    lines = [
        "Call rate (bench/cps.py): highest rate with <= 0.1 % failed calls",
        f"machine: {machine['line']}",
        f"method:  calls = rate x {plan.duration_s:g} s, hold {plan.hold_ms} ms, "
        f"answer timeout {RECV_TIMEOUT_MS} ms; SIPp UAC/UAS on UDP loopback, no RTP",
        f"search:  rates {plan.min_rate}-{plan.max_rate} cps, <= {plan.max_trials} trials "
        f"per config{', a failing rate is retried once' if plan.retry_failures else ''}",
    ]
    if settings is not None:
        lines.append(f"kamailio: children {settings.kamailio_children}, "
                     f"-m {settings.kamailio_shm_mb} MB, -M {settings.kamailio_pkg_mb} MB, "
                     f"-x tlsf, debug {settings.kamailio_debug}")
    if model:
        lines.append(PROJECT_LINE.format(**model))
        lines.append(f"         ({model['tree_rows']:,} tariff rows loaded; "
                     f"model built and applied in {model['seconds']:.0f} s, not timed)")
        lines.append(f"         {CDR_NOTE}")
    lines.append("")
    lines.append(f"{'config':<16}{'no media':>12}{'with media':>12}   (calls/s)")
    for config in ("minimal", "project"):
        cells = []
        for media in ("nomedia", "media"):
            res = results.get(f"{config}-{media}")
            cells.append("-" if res is None else res.figure)
        lines.append(f"{config:<16}{cells[0]:>12}{cells[1]:>12}")
    rat = ratios(results)
    if rat:
        def cell(key: str) -> str:
            if key not in rat:
                return "-"
            value = rat[key]
            return "n/a" if value is None else f"{value:.2f}"
        lines.append(f"{'project/minimal':<16}{cell('nomedia'):>12}{cell('media'):>12}")
    cpu = cpu_comparison(results)
    if cpu:
        lines.append("")
        lines.append("Kamailio CPU per call at one rate both configs ran (less noisy than rates):")
        for media, entry in cpu.items():
            kam, rtp = entry["kamailio_us"], entry["rtpengine_us"]
            ratio = entry.get("kamailio_project_over_minimal")
            text = (f"  {'no media' if media == 'nomedia' else 'with media':<10} at "
                    f"{entry['rate']:>4} cps: minimal {_us(kam['minimal'])}, "
                    f"project {_us(kam['project'])}"
                    + ("" if ratio is None else f" (project x{ratio:.2f})"))
            if rtp["minimal"] is not None and rtp["project"] is not None:
                text += f"; rtpengine {_us(rtp['minimal'])} / {_us(rtp['project'])}"
            if not entry["both_passed"]:
                text += "  [not a clean rate for both]"
            lines.append(text)
    lines.append("")
    lines.append("bracket (highest pass .. lowest fail), trials, time:")
    for key, res in results.items():
        fail = "-" if res.lowest_fail is None else str(res.lowest_fail)
        lines.append(f"  {key:<16} {res.figure:>5} .. {fail:<5} {len(res.trials)} trials  "
                     f"{res.seconds:.0f} s" + ("  (time budget reached)" if res.truncated
                                              else ""))
    lines.append("")
    lines.append(f"total {seconds:.0f} s; command: {' '.join(argv)}")
    return "\n".join(lines)


def json_report(machine: dict[str, str], plan: Plan, results: dict[str, Result],
                settings: Settings | None, seconds: float, argv: list[str],
                model: dict[str, Any]) -> str:
    data: dict[str, Any] = {
        "machine": machine,
        "plan": asdict(plan) | {"recv_timeout_ms": RECV_TIMEOUT_MS,
                                "max_fail_ratio": MAX_FAIL_RATIO},
        "project_model": model | {"not_measured": CDR_NOTE} if model else None,
        "kamailio": None if settings is None else {
            "children": settings.kamailio_children, "shm_mb": settings.kamailio_shm_mb,
            "pkg_mb": settings.kamailio_pkg_mb},
        "results": {
            key: {"config": res.variant.config, "media": res.variant.media,
                  "cps": res.best, "lowest_failing_cps": res.lowest_fail,
                  "seconds": res.seconds, "truncated": res.truncated,
                  "trials": [asdict(t) for t in res.trials]}
            for key, res in results.items()
        },
        "ratios_project_over_minimal": ratios(results),
        "cpu_per_call_at_common_rate": cpu_comparison(results),
        "seconds": round(seconds, 1),
        "command": " ".join(argv),
    }
    return json.dumps(data, indent=2)


