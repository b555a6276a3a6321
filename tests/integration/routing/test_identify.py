"""PRODUCT.md §2 steps 1-3: who is calling, may they call, which route."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.carriers import CarrierFarm
from tests.support.dataplane import Dataplane

if TYPE_CHECKING:
    from orchestrator.ratecards.models import CustomerCard
    from tests.integration.routing.conftest import CallerFactory
    from tests.support.switch_world import World

pytestmark = pytest.mark.integration


def test_ip_auth_tech_prefix_and_dial_string(dataplane: Dataplane, farm: CarrierFarm,
                                             caller_factory: CallerFactory) -> None:
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
    assert stranger.call("12441234") in ("403 IP Not Authorised",
                                         "407 Proxy Authentication Required")


def _answering_route(dataplane: Dataplane, farm: CarrierFarm,
                     name: str) -> tuple[World, CustomerCard]:
    """A world with one answering carrier (farm name) and a tariff for 44 through it."""
    w = dataplane.world()
    carrier = w.carrier([farm.add(name, "answer")])
    tariff = w.tariff([w.provider_card(carrier, {"44": "0.01"})])
    return w, tariff


def test_digest_auth(dataplane: Dataplane, farm: CarrierFarm,
                     caller_factory: CallerFactory) -> None:
    """A customer with SIP users and no IP auth entry: challenged, then let in by its
    credentials; every failed authentication is `403 IP Not Authorised`
    (docs/design/routing.md, "Digest")."""
    w, tariff = _answering_route(dataplane, farm, "digest")
    src = dataplane.source_ip()
    tag = uuid.uuid4().hex[:8]
    anywhere, here, elsewhere = f"any-{tag}", f"here-{tag}", f"elsewhere-{tag}"
    customer = w.customer(users=[
        {"username": anywhere, "password": "secret-any-1"},
        {"username": here, "password": "secret-here-1", "allowed_ips": [f"{src}/32"]},
        {"username": elsewhere, "password": "secret-else-1",
         "allowed_ips": ["127.0.250.0/24", "192.0.2.7"]},
    ])
    w.route(customer, tariff)
    w.commit()
    dataplane.apply()
    caller = caller_factory(src)

    # no credentials: a challenge, and nothing reaches the carrier
    assert caller.call("441234") == "407 Proxy Authentication Required"
    # the same call re-sent with the credentials (uac_auth.xml answers the 407)
    assert caller.call("441235", scenario="uac_auth.xml", auth=(anywhere, "secret-any-1"),
                       hold_ms=100) == "200 OK"
    assert caller.call("441236", scenario="uac_auth.xml", auth=(here, "secret-here-1"),
                       hold_ms=100) == "200 OK"
    # wrong password, unknown user, source outside the user's allowed IPs
    assert caller.call("441237", scenario="uac_auth.xml",
                       auth=(anywhere, "wrong-password")) == "403 IP Not Authorised"
    assert caller.call("441238", scenario="uac_auth.xml",
                       auth=(f"nobody-{tag}", "secret-any-1")) == "403 IP Not Authorised"
    assert caller.call("441239", scenario="uac_auth.xml",
                       auth=(elsewhere, "secret-else-1")) == "403 IP Not Authorised"
    assert farm.report("digest").ruri_users == ["441235", "441236"]


def test_shared_ip_longest_tech_prefix(dataplane: Dataplane, farm: CarrierFarm,
                                       caller_factory: CallerFactory) -> None:
    """Two customers on one source address: the longest tech prefix of all their
    routes picks the route (and so the customer); a route without a tech prefix
    takes what no tech prefix matches."""
    w = dataplane.world()
    tariffs = {}
    for name in ("one", "twelve", "bare"):
        carrier = w.carrier([farm.add(name, "answer")])
        tariffs[name] = w.tariff([w.provider_card(carrier, {"44": "0.01"})])
    src = dataplane.source_ip()
    first = w.customer(ips_=[src])
    second = w.customer(ips_=[src])
    w.route(first, tariffs["one"], tech_prefix="1")
    w.route(second, tariffs["twelve"], tech_prefix="12")
    w.route(second, tariffs["bare"])
    w.commit()
    dataplane.apply()
    caller = caller_factory(src)

    assert caller.call("12441234", hold_ms=100) == "200 OK"  # "12" beats "1"
    assert caller.call("1441234", hold_ms=100) == "200 OK"   # only "1" matches
    assert caller.call("441234", hold_ms=100) == "200 OK"    # no tech prefix
    assert caller.call("9441234") == "404 No Rate"           # bare route, 9441234 unrated
    assert farm.invite_counts() == {"one": 1, "twelve": 1, "bare": 1}
    assert farm.report("twelve").ruri_users == ["441234"]
    assert farm.report("one").ruri_users == ["441234"]
    assert farm.report("bare").ruri_users == ["441234"]


@pytest.mark.parametrize(("fields", "refusal"), [
    ({"status": "inactive"}, "403 Account Inactive"),
    ({"verification_required": True, "email_verified": False},
     "403 Verification Required"),
    ({"debit_limit": "0"}, "402 Insufficient Balance"),
], ids=["inactive", "unverified", "no-credit"])
def test_customer_may_not_call(dataplane: Dataplane, farm: CarrierFarm,
                               caller_factory: CallerFactory, fields: dict[str, Any],
                               refusal: str) -> None:
    """PRODUCT.md §2 step 2 and credit (step 6): the customer is refused before any
    carrier is tried, for IP callers and for SIP users alike."""
    w, tariff = _answering_route(dataplane, farm, "never")
    src = dataplane.source_ip()
    user = f"refused-{uuid.uuid4().hex[:8]}"
    customer = w.customer(ips_=[src], users=[{"username": user, "password": "secret-ref-1"}],
                          **fields)
    w.route(customer, tariff)
    w.commit()
    dataplane.apply()

    assert caller_factory(src).call("441234") == refusal
    other = caller_factory(dataplane.source_ip())  # the same customer by digest
    assert other.call("441234", scenario="uac_auth.xml",
                      auth=(user, "secret-ref-1")) == refusal
    assert farm.report("never").invites == 0
