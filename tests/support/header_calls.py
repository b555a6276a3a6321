"""A customer call carrying extra header lines (sipp_scenarios/uac_headers.xml)."""

from __future__ import annotations

from pathlib import Path

from tests.support.dataplane import Dataplane
from tests.support.ports import free_port
from tests.support.sipp import Sipp, SippResult


def call_with_headers(plane: Dataplane, workdir: Path, src: str, number: str,
                      *headers: str) -> SippResult:
    """One uac_headers.xml call from src to number with the extra header lines."""
    variables = {f"h{n}": line for n, line in enumerate(headers, 1)}
    sipp = Sipp("uac_headers.xml", workdir, port=free_port(), target=plane.target,
                service=number, variables=variables, media_port=free_port(), ip=src)
    sipp.start()
    try:
        return sipp.result(timeout=30)
    finally:
        sipp.stop()
