"""PRODUCT.md §2 step 5 (and the carrier side of step 8): which carriers are
candidates for a call and in which order they are tried: LCR, reverse LCR, random by
parent weight, round robin, profit assurance, lock/exclude cards, carrier status and
gateway availability, gateway weights, the carrier's tech prefix.

Each test builds its own carriers (SIPp UAS on their own ports), provider cards,
customer (its own source address) and route, applies once, and calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.integration.routing.conftest import open_route
from tests.support.carriers import CarrierFarm
from tests.support.dataplane import Dataplane
from tests.support.switch_world import ADMIN

if TYPE_CHECKING:
    from tests.integration.routing.conftest import CallerFactory

pytestmark = pytest.mark.integration

NUMBER = "441234567"


_open = open_route


def _sequence(farm: CarrierFarm) -> list[str]:
    """The carrier that got each INVITE, all carriers, in order of arrival."""
    hits = [(call.invite_time or 0.0, name)
            for name, report in farm.reports().items() for call in report.calls]
    return [name for _, name in sorted(hits)]


def test_lcr_cheapest_answers(dataplane: Dataplane, farm: CarrierFarm,
                              caller_factory: CallerFactory) -> None:
    for name in ("mid", "cheap", "dear"):
        farm.add(name, "answer")
    w = dataplane.world()
    cards = [w.provider_card(w.carrier([farm.port(name)]), {"44": cost})
             for name, cost in (("mid", "0.02"), ("cheap", "0.01"), ("dear", "0.03"))]
    caller = _open(dataplane, caller_factory, w, w.tariff(cards))

    assert caller.call(NUMBER, hold_ms=50) == "200 OK"
    assert farm.invite_counts() == {"mid": 0, "cheap": 1, "dear": 0}
    assert farm.report("cheap").ruri_users == [NUMBER]


def test_reverse_lcr_dearest_first(dataplane: Dataplane, farm: CarrierFarm,
                                   caller_factory: CallerFactory) -> None:
    """Route strategy reverse_lcr over a card whose own strategy is lcr: the dearest
    carrier first (it fails 503), then the middle one; the cheapest gets nothing."""
    farm.add("cheap", "answer")
    farm.add("mid", "answer")
    farm.add("dear", "reject", code=503)
    w = dataplane.world()
    cards = [w.provider_card(w.carrier([farm.port(name)]), {"44": cost})
             for name, cost in (("cheap", "0.01"), ("mid", "0.02"), ("dear", "0.03"))]
    caller = _open(dataplane, caller_factory, w, w.tariff(cards), strategy="reverse_lcr")

    assert caller.call(NUMBER, hold_ms=50) == "200 OK"
    assert farm.invite_counts() == {"cheap": 0, "mid": 1, "dear": 1}
    assert _sequence(farm) == ["dear", "mid"]


def test_random_by_parent_weight(dataplane: Dataplane, farm: CarrierFarm,
                                 caller_factory: CallerFactory) -> None:
    """Card strategy random, parent weights 3:1 (the heavier one dearer, so that LCR
    would pick the other).  The first carrier tried should be "heavy" with p = 0.75.
    Over n = 200 calls the share has sd = sqrt(0.75 * 0.25 / 200) = 0.031; the
    tolerance 0.75 +- 0.1 is more than 3 sd (a false failure about once in 800 runs),
    yet 0.5 (weights ignored) or 0.0/1.0 (a fixed order) fail it clearly."""
    farm.add("heavy", "answer")
    farm.add("light", "answer")
    w = dataplane.world()
    light = w.provider_card(w.carrier([farm.port("light")]), {"44": "0.01"})
    heavy = w.provider_card(w.carrier([farm.port("heavy")]), {"44": "0.02"})
    tariff = w.tariff([(heavy, 3, 0), (light, 1, 0)], strategy="random")
    caller = _open(dataplane, caller_factory, w, tariff)

    n = 200
    assert caller.calls(NUMBER, n, rate=50, hold_ms=10) == ["200 OK"] * n
    counts = farm.invite_counts()
    assert counts["heavy"] + counts["light"] == n  # no failover: one carrier per call
    assert abs(counts["heavy"] / n - 0.75) <= 0.1, counts


def test_round_robin_rotates(dataplane: Dataplane, farm: CarrierFarm,
                             caller_factory: CallerFactory) -> None:
    """Route strategy round_robin over three carriers: 6 sequential calls give each
    exactly 2, consecutive calls start at different carriers, and the order repeats."""
    for name in ("a", "b", "c"):
        farm.add(name, "answer")
    w = dataplane.world()
    cards = [w.provider_card(w.carrier([farm.port(name)]), {"44": cost})
             for name, cost in (("a", "0.01"), ("b", "0.02"), ("c", "0.03"))]
    caller = _open(dataplane, caller_factory, w, w.tariff(cards), strategy="round_robin")

    for _ in range(6):
        assert caller.call(NUMBER, hold_ms=10) == "200 OK"
    assert farm.invite_counts() == {"a": 2, "b": 2, "c": 2}
    seq = _sequence(farm)
    assert all(seq[i] != seq[i + 1] for i in range(5)), seq
    assert seq[3:] == seq[:3], seq


def test_profit_assurance(dataplane: Dataplane, farm: CarrierFarm,
                          caller_factory: CallerFactory) -> None:
    """rate_compact min + 10 % markup: sell 0.011 for costs 0.01 (cheap) and 0.02
    (dear, a loss).  cheap fails 503.  Without profit assurance the call fails over to
    dear; with it dear is no candidate, so the customer gets cheap's 503.  A second
    card at -50 % (sell 0.005) puts both at a loss: 503 No Routes Available."""
    farm.add("cheap", "reject", code=503)
    farm.add("dear", "answer")
    w = dataplane.world()
    cheap = w.provider_card(w.carrier([farm.port("cheap")]), {"44": "0.01"})
    dear = w.provider_card(w.carrier([farm.port("dear")]), {"44": "0.02"})
    tariff = w.tariff([cheap, dear], rate_compact="min", markup="10")
    losing = w.tariff([cheap, dear], rate_compact="min", markup="-50")
    callers = {}
    for key, card, pa in (("off", tariff, False), ("on", tariff, True),
                          ("loss", losing, True)):
        src = dataplane.source_ip()
        w.route(w.customer(ips_=[src]), card, profit_assurance=pa)
        callers[key] = caller_factory(src)
    w.commit()
    dataplane.apply()

    assert callers["off"].call(NUMBER, hold_ms=50) == "200 OK"
    assert farm.invite_counts() == {"cheap": 1, "dear": 1}
    assert callers["on"].call(NUMBER) == "503 Service Unavailable"
    assert farm.invite_counts() == {"cheap": 2, "dear": 1}
    assert callers["loss"].call(NUMBER) == "503 No Routes Available"
    assert farm.invite_counts() == {"cheap": 2, "dear": 1}


@pytest.mark.parametrize("mode,listed,answers", [
    ("lock_cards", ["c"], "c"),        # only c, though a and b are cheaper
    ("lock_cards", ["b", "c"], "b"),   # LCR among the locked ones
    ("exclude_cards", ["a"], "b"),     # all but the cheapest
])
def test_lock_and_exclude_cards(dataplane: Dataplane, farm: CarrierFarm,
                                caller_factory: CallerFactory, mode: str, listed: list[str],
                                answers: str) -> None:
    for name in ("a", "b", "c"):
        farm.add(name, "answer")
    w = dataplane.world()
    cards = {name: w.provider_card(w.carrier([farm.port(name)]), {"44": cost})
             for name, cost in (("a", "0.01"), ("b", "0.02"), ("c", "0.03"))}
    caller = _open(dataplane, caller_factory, w, w.tariff(list(cards.values())),
                   **{mode: [cards[name].id for name in listed]})

    assert caller.call(NUMBER, hold_ms=50) == "200 OK"
    assert farm.invite_counts() == {name: int(name == answers) for name in cards}


def test_inactive_carrier_and_disabled_gateways_not_used(
        dataplane: Dataplane, farm: CarrierFarm, caller_factory: CallerFactory) -> None:
    """In LCR order: an inactive carrier, a carrier whose only gateway is disabled, a
    carrier with one disabled and one enabled gateway, a last carrier.  Every call
    goes to the enabled gateway of the third carrier."""
    from orchestrator.carriers import gateways

    for name in ("inactive", "disabled", "off", "on", "last"):
        farm.add(name, "answer")
    w = dataplane.world()
    inactive = w.carrier([farm.port("inactive")], status="inactive")
    disabled = w.carrier([farm.port("disabled")])
    half = w.carrier([farm.port("off"), farm.port("on")])
    last = w.carrier([farm.port("last")])
    for carrier, port in ((disabled, farm.port("disabled")), (half, farm.port("off"))):
        gateway = next(g for g in carrier.gateways if g.port == port)
        gateways.update_gateway(w.session, ADMIN, carrier.id, gateway.id, {"enabled": False})
    cards = [w.provider_card(carrier, {"44": cost}) for carrier, cost in
             ((inactive, "0.01"), (disabled, "0.02"), (half, "0.03"), (last, "0.04"))]
    caller = _open(dataplane, caller_factory, w, w.tariff(cards))

    assert caller.calls(NUMBER, 4, rate=20, hold_ms=10) == ["200 OK"] * 4
    assert farm.invite_counts() == {"inactive": 0, "disabled": 0, "off": 0, "on": 4,
                                    "last": 0}


def test_no_usable_carrier(dataplane: Dataplane, farm: CarrierFarm,
                           caller_factory: CallerFactory) -> None:
    from orchestrator.carriers import gateways

    farm.add("inactive", "answer")
    farm.add("disabled", "answer")
    w = dataplane.world()
    inactive = w.carrier([farm.port("inactive")], status="inactive")
    disabled = w.carrier([farm.port("disabled")])
    gateways.update_gateway(w.session, ADMIN, disabled.id, disabled.gateways[0].id,
                            {"enabled": False})
    cards = [w.provider_card(inactive, {"44": "0.01"}),
             w.provider_card(disabled, {"44": "0.02"})]
    caller = _open(dataplane, caller_factory, w, w.tariff(cards))

    assert caller.call(NUMBER) == "503 No Routes Available"
    assert farm.invite_counts() == {"inactive": 0, "disabled": 0}


def test_gateway_weights(dataplane: Dataplane, farm: CarrierFarm,
                         caller_factory: CallerFactory) -> None:
    """One carrier, gateways weighted 3:1: over n = 120 calls the heavy gateway's share
    should be 0.75 (sd = sqrt(0.75 * 0.25 / 120) = 0.040 if the picks were independent
    draws); 0.75 +- 0.12 is 3 sd, and 0.5 (weights ignored) fails it clearly."""
    farm.add("heavy", "answer")
    farm.add("light", "answer")
    w = dataplane.world()
    carrier = w.carrier([(farm.port("heavy"), 3), (farm.port("light"), 1)])
    caller = _open(dataplane, caller_factory, w,
                   w.tariff([w.provider_card(carrier, {"44": "0.01"})]))

    n = 120
    assert caller.calls(NUMBER, n, rate=50, hold_ms=10) == ["200 OK"] * n
    counts = farm.invite_counts()
    assert counts["heavy"] + counts["light"] == n
    assert abs(counts["heavy"] / n - 0.75) <= 0.12, counts


def test_carrier_tech_prefix(dataplane: Dataplane, farm: CarrierFarm,
                             caller_factory: CallerFactory) -> None:
    """The provider card's tech prefix goes in front of the number sent to the carrier;
    the failover carrier gets its own (here: none)."""
    farm.add("a", "reject", code=503)
    farm.add("b", "answer")
    w = dataplane.world()
    card_a = w.provider_card(w.carrier([farm.port("a")]), {"44": "0.01"}, tech_prefix="0099")
    card_b = w.provider_card(w.carrier([farm.port("b")]), {"44": "0.02"})
    caller = _open(dataplane, caller_factory, w, w.tariff([card_a, card_b]))

    assert caller.call(NUMBER, hold_ms=50) == "200 OK"
    assert farm.report("a").ruri_users == ["0099" + NUMBER]
    assert farm.report("b").ruri_users == [NUMBER]
