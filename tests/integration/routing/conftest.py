"""Routing tests: real Kamailio + rtpengine (the session's data plane), SIPp customers
and SIPp carriers.  Each test builds its own customers (each calling from its own
loopback address), carriers and routes in the data plane's model, applies, and calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.carriers import CarrierFarm
from tests.support.dataplane import Dataplane
from tests.support.ports import free_port
from tests.support.sipp import Sipp, SippResult, final_response, final_responses, uac

pytestmark = pytest.mark.integration


@pytest.fixture
def farm(tmp_path: Path) -> Iterator[CarrierFarm]:
    with CarrierFarm(tmp_path / "carriers") as carriers:
        yield carriers


class Customer:
    """Places calls from one source address to the data plane."""

    def __init__(self, plane: Dataplane, workdir: Path, source_ip: str) -> None:
        self.plane = plane
        self.workdir = workdir
        self.ip = source_ip

    def start(self, number: str, **options: object) -> Sipp:
        return uac(self.workdir, self.plane.target, number, port=free_port(),  # type: ignore[arg-type]
                   ip=self.ip, **options).start()

    def run(self, number: str, timeout: float = 60.0, **options: object) -> SippResult:
        sipp = self.start(number, **options)
        try:
            return sipp.result(timeout=timeout)
        finally:
            sipp.stop()

    def call(self, number: str, **options: object) -> str | None:
        """Place one call; the final response it got, e.g. "200 OK"."""
        return final_response(self.run(number, **options))

    def calls(self, number: str, count: int, **options: object) -> list[str | None]:
        return final_responses(self.run(number, calls=count, **options))


@pytest.fixture
def caller_factory(dataplane: Dataplane, tmp_path: Path):  # type: ignore[no-untyped-def]
    def make(source_ip: str) -> Customer:
        return Customer(dataplane, tmp_path / "customers", source_ip)
    (tmp_path / "customers").mkdir()
    return make
