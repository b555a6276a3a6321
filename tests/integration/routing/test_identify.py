"""PRODUCT.md §2 steps 1-3: who is calling, may they call, which route."""

from __future__ import annotations

import pytest

from tests.support.carriers import CarrierFarm
from tests.support.dataplane import Dataplane

pytestmark = pytest.mark.integration


def test_ip_auth_tech_prefix_and_dial_string(dataplane: Dataplane, farm: CarrierFarm,
                                             caller_factory) -> None:  # type: ignore[no-untyped-def]
    port = farm.add("uk", "answer")
    w = dataplane.world()
    carrier = w.carrier([port])
    card = w.provider_card(carrier, {"44": "0.01", "33": "0.02"}, tech_prefix="77")
    tariff = w.tariff([card])
    src = dataplane.source_ip()
    customer = w.customer(ips_=[src])
    w.route(customer, tariff, tech_prefix="12", dial_string="44\n^331")
    w.commit()
    dataplane.apply()
    caller = caller_factory(src)

    assert caller.call("12441234", hold_ms=100) == "200 OK"
    assert caller.call("123312", hold_ms=100) == "200 OK"        # regex line ^331
    assert caller.call("12339999") == "403 Blocked by Dial String"
    assert caller.call("99441234") == "404 No Ingress Route"     # no such tech prefix
    # the carrier got the number without our tech prefix, with its own
    assert farm.report("uk").ruri_users == ["77441234", "77331"+"2"]
    # an address nobody configured
    stranger = caller_factory(dataplane.source_ip())
    assert stranger.call("12441234") in ("403 IP Not Authorised", "407 Proxy Authentication Required")
