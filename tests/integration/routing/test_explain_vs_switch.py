"""Explain agrees with the switch: for a few hundred random numbers over a generated
multi-carrier setup, the carriers Kamailio actually tries, in order, are explain's
`order` (up to the first carrier that answers), and every refused call gets exactly
explain's verdict.

One carrier (A) rejects every call with 503, so calls whose cheapest candidate is A
show the failover order too. Numbers go through one SIPp run (an -inf CSV), so the
test costs one apply and a few seconds of calls.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from orchestrator.routing.explain import explain_current
from tests.support.carriers import CarrierFarm, customer_tag
from tests.support.dataplane import Dataplane
from tests.support.ports import free_port
from tests.support.sipp import SCENARIOS, Sipp, by_call, final_responses

pytestmark = pytest.mark.integration

CALLS = 240
TECH_PREFIX = "5"
SEED = 20261126


def _deck(rng: random.Random, prefixes: list[str]) -> dict[str, str | tuple[str, str]]:
    """A provider deck over a random subset of prefixes, a few of them blocked."""
    deck: dict[str, str | tuple[str, str]] = {}
    for prefix in rng.sample(prefixes, k=len(prefixes) * 2 // 3):
        rate = f"0.{rng.randint(100, 999):03d}{rng.randint(0, 9)}"
        deck[prefix] = (rate, "blocked") if rng.random() < 0.05 else rate
    return deck


def _numbers(rng: random.Random, prefixes: list[str]) -> list[str]:
    """Mostly numbers under a known prefix, some that match nothing or no dial string."""
    numbers = []
    for _ in range(CALLS):
        roll = rng.random()
        if roll < 0.8:
            head = rng.choice(prefixes)
        elif roll < 0.9:
            head = rng.choice("12")            # refused by the dial string
        else:
            head = rng.choice("3456789")       # allowed, maybe no rate
        numbers.append(head + "".join(rng.choice("0123456789") for _ in range(8)))
    return numbers


def _inf_scenario(workdir: Path) -> Path:
    """uac_call.xml dialling [field0] of an -inf file instead of -s."""
    text = (SCENARIOS / "uac_call.xml").read_text().replace("[service]", "[field0]")
    path = workdir / "uac_inf.xml"
    path.write_text(text)
    return path


def test_switch_tries_carriers_in_explains_order(dataplane: Dataplane, farm: CarrierFarm,
                                                 tmp_path: Path) -> None:
    rng = random.Random(SEED)
    prefixes = sorted({str(rng.randint(3, 9)) + str(rng.randint(0, 10 ** rng.randint(1, 3)))
                       for _ in range(60)})
    names = ["A", "B", "C", "D"]
    farm.add("A", "reject", code=503)
    for name in names[1:]:
        farm.add(name, "answer")
    w = dataplane.world()
    carrier_name: dict[int, str] = {}
    cards = []
    for name in names:
        carrier = w.carrier([farm.port(name)])
        carrier_name[carrier.id] = name
        cards.append(w.provider_card(carrier, _deck(rng, prefixes)))
    tariff = w.tariff(cards, markup="20")
    src = dataplane.source_ip()
    customer = w.customer(ips_=[src])
    w.route(customer, tariff, tech_prefix=TECH_PREFIX, dial_string="^[3-9]")
    w.commit()
    dataplane.apply()

    numbers = _numbers(rng, prefixes)
    expected = {}
    for number in numbers:
        why = explain_current(dataplane.settings, source_ip=src, dialled=TECH_PREFIX + number)
        by_card = {c["provider_card_id"]: carrier_name[c["carrier_id"]]
                   for c in why["candidates"] if c["carrier_id"] is not None}
        expected[number] = (why["verdict"], [by_card[card] for card in why["order"]])
    verdicts = {v for v, _ in expected.values()}
    assert {"ok", "404 No Rate", "403 Blocked by Dial String"} <= verdicts, verdicts

    inf = tmp_path / "numbers.csv"
    inf.write_text("SEQUENTIAL\n" + "".join(f"{TECH_PREFIX}{n};\n" for n in numbers))
    sipp = Sipp(str(_inf_scenario(tmp_path)), tmp_path, port=free_port(),
                target=dataplane.target, calls=CALLS, rate=40, ip=src,
                variables={"hold_ms": 50}, extra=["-inf", str(inf)]).start()
    result = sipp.result(timeout=120)
    sipp.stop()

    calls = by_call(m for m in result.messages if m.call_id)
    finals = final_responses(result)
    assert len(finals) == CALLS
    checked = 0
    for messages, final in zip(calls.values(), finals, strict=True):
        invite = next(m for m in messages if m.direction == "sent" and m.method == "INVITE"
                      and not m.is_response)
        number = invite.request_user[len(TECH_PREFIX):]
        verdict, order = expected[number]
        tried = farm.who_got(customer_tag(messages))
        if verdict != "ok":
            assert (final, tried) == (verdict, []), number
            continue
        # carriers are tried in explain's order until one answers (A always refuses)
        answered_at = next((i for i, name in enumerate(order) if name != "A"), None)
        want = order if answered_at is None else order[:answered_at + 1]
        assert tried == want, (number, order)
        assert final == ("200 OK" if answered_at is not None
                         else "503 Service Unavailable"), number
        checked += 1
    assert checked >= CALLS // 2
    # the failover path was exercised: some calls went to A first, then elsewhere
    assert any(order[:1] == ["A"] and len(order) > 1 for v, order in expected.values()
               if v == "ok")
