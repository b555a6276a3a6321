"""PRODUCT.md §2 steps 3-4: the route must be enabled, the tariff's longest prefix
decides the rate, blocked and unrated destinations are refused."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.support.carriers import CarrierFarm
from tests.support.dataplane import Dataplane

if TYPE_CHECKING:
    from tests.integration.routing.conftest import CallerFactory

pytestmark = pytest.mark.integration


def test_longest_prefix_picks_the_row(dataplane: Dataplane, farm: CarrierFarm,
                                      caller_factory: CallerFactory) -> None:
    """44 and 4420 come from different provider cards: a 4420 number matches the 4420
    row (both carriers serve it, the 4420 card is cheaper, so lcr sends it there); a
    44 number matches only the 44 row, which only the 44 card serves."""
    w = dataplane.world()
    uk = w.carrier([farm.add("uk", "answer")])
    london = w.carrier([farm.add("london", "answer")])
    tariff = w.tariff([w.provider_card(uk, {"44": "0.05"}),
                       w.provider_card(london, {"4420": "0.01"})])
    src = dataplane.source_ip()
    customer = w.customer(ips_=[src])
    w.route(customer, tariff)
    w.commit()
    dataplane.apply()
    caller = caller_factory(src)

    assert caller.call("4420123456", hold_ms=100) == "200 OK"
    assert caller.call("4412123456", hold_ms=100) == "200 OK"
    assert caller.call("442", hold_ms=100) == "200 OK"  # shorter than 4420: the 44 row
    assert farm.report("london").ruri_users == ["4420123456"]
    assert farm.report("uk").ruri_users == ["4412123456", "442"]


def test_blocked_and_unrated_destinations(dataplane: Dataplane, farm: CarrierFarm,
                                          caller_factory: CallerFactory) -> None:
    """A blocked row is never routed (no fall-back to the shorter 44 row); a number
    that no row matches has no rate."""
    w = dataplane.world()
    carrier = w.carrier([farm.add("uk", "answer")])
    tariff = w.tariff([w.provider_card(carrier, {"44": "0.01",
                                                 "4420": ("0.02", "blocked")})])
    src = dataplane.source_ip()
    customer = w.customer(ips_=[src])
    w.route(customer, tariff)
    w.commit()
    dataplane.apply()
    caller = caller_factory(src)

    assert caller.call("4420123456") == "403 Destination Blocked"
    assert caller.call("3312345678") == "404 No Rate"
    assert caller.call("4") == "404 No Rate"  # shorter than every prefix
    assert caller.call("4412345678", hold_ms=100) == "200 OK"
    assert farm.report("uk").ruri_users == ["4412345678"]


def test_disabled_route(dataplane: Dataplane, farm: CarrierFarm,
                        caller_factory: CallerFactory) -> None:
    """A disabled route is not in the switch: its tech prefix matches nothing, and the
    customer's enabled routes still work."""
    w = dataplane.world()
    carrier = w.carrier([farm.add("uk", "answer")])
    tariff = w.tariff([w.provider_card(carrier, {"44": "0.01"})])
    src = dataplane.source_ip()
    customer = w.customer(ips_=[src])
    w.route(customer, tariff, tech_prefix="7", enabled=False)
    w.route(customer, tariff, tech_prefix="8")
    only_disabled = w.customer(ips_=[(other := dataplane.source_ip())])
    w.route(only_disabled, tariff, enabled=False)
    w.commit()
    dataplane.apply()

    assert caller_factory(src).call("7441234") == "404 No Ingress Route"
    assert caller_factory(src).call("8441234", hold_ms=100) == "200 OK"
    assert caller_factory(other).call("441234") == "404 No Ingress Route"
    assert farm.report("uk").ruri_users == ["441234"]
