"""Routing tests: real Kamailio + rtpengine (the session's data plane), SIPp customers
and SIPp carriers.  Each test builds its own customers (each calling from its own
loopback address), carriers and routes in the data plane's model, applies, and calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.ratecards.models import CustomerCard
from tests.support.carriers import CarrierFarm
from tests.support.dataplane import Dataplane
from tests.support.ports import free_port
from tests.support.sipp import Sipp, SippResult, final_response, final_responses, uac
from tests.support.switch_world import World

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

    def start(self, number: str, **options: Any) -> Sipp:
        return uac(self.workdir, self.plane.target, number, port=free_port(),
                   ip=self.ip, **options).start()

    def run(self, number: str, timeout: float = 60.0, **options: Any) -> SippResult:
        sipp = self.start(number, **options)
        try:
            return sipp.result(timeout=timeout)
        finally:
            sipp.stop()

    def call(self, number: str, **options: Any) -> str | None:
        """Place one call; the final response it got, e.g. "200 OK"."""
        return final_response(self.run(number, **options))

    def calls(self, number: str, count: int, **options: Any) -> list[str | None]:
        return final_responses(self.run(number, calls=count, **options))


# The type of the caller_factory fixture: a Customer calling from the given address.
CallerFactory = Callable[[str], Customer]


@pytest.fixture
def caller_factory(dataplane: Dataplane, tmp_path: Path) -> CallerFactory:
    def make(source_ip: str) -> Customer:
        return Customer(dataplane, tmp_path / "customers", source_ip)
    (tmp_path / "customers").mkdir()
    return make


def open_route(dataplane: Dataplane, caller_factory: CallerFactory, w: World,
               tariff: CustomerCard, **route: Any) -> Customer:
    """A customer calling from its own address over one route to tariff; applies."""
    src = dataplane.source_ip()
    customer = w.customer(ips_=[src])
    w.route(customer, tariff, **route)
    w.commit()
    dataplane.apply()
    return caller_factory(src)
