"""Issue 6, SIP interoperability: 3xx from carriers, Max-Forwards and loops.

- A 3xx from a carrier is a failure like a 5xx (the next carrier is tried) and is
  never followed: the address in its Contact (the "redirect target", a SIPp UAS that
  is no carrier of the switch) receives nothing, and the customer never sees it.
- Max-Forwards: 0 is refused with 483 before any routing; any other value reaches the
  carrier decremented by one.
- A carrier whose gateway is the switch itself: the relayed INVITE comes back from the
  switch's own address, REQINIT refuses it with 482, and the call fails at once with
  482 Loop Detected instead of looping until Max-Forwards runs out.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.integration.routing.conftest import open_route
from tests.support.carriers import CarrierFarm, customer_tag
from tests.support.dataplane import Dataplane
from tests.support.ports import free_port
from tests.support.sipp import Sipp, SippResult, final_response

if TYPE_CHECKING:
    from orchestrator.ratecards.models import CustomerCard
    from tests.integration.routing.conftest import CallerFactory
    from tests.support.switch_world import World

pytestmark = pytest.mark.integration


def _lcr(dataplane: Dataplane, farm: CarrierFarm, names: list[str]) -> tuple[World, CustomerCard]:
    """One carrier per farm name (already added), in LCR order, all on prefix 44."""
    w = dataplane.world()
    cards = [w.provider_card(w.carrier([farm.port(name)]), {"44": f"0.0{n}"})
             for n, name in enumerate(names, 1)]
    return w, w.tariff(cards)


def _mentions(text: str, address: str) -> bool:
    """text names address ("ip" or "ip:port"), not merely a longer one starting so."""
    return re.search(re.escape(address) + r"(?![0-9])", text) is not None


def _maxfwd_call(dataplane: Dataplane, workdir: Path, src: str, number: str,
                 max_forwards: int) -> SippResult:
    sipp = Sipp("uac_maxfwd.xml", workdir, port=free_port(), target=dataplane.target,
                service=number, ip=src, media_port=free_port(),
                variables={"max_forwards": max_forwards, "hold_ms": 100}).start()
    try:
        return sipp.result(timeout=20)
    finally:
        sipp.stop()


# 3xx ---------------------------------------------------------------------------------

@pytest.mark.parametrize("code,reason", [(302, "Moved Temporarily"),
                                         (301, "Moved Permanently")])
def test_3xx_fails_over_and_is_never_followed(dataplane: Dataplane, farm: CarrierFarm,
                                              caller_factory: CallerFactory, code: int,
                                              reason: str) -> None:
    number = f"447400{code}"
    target_ip = dataplane.source_ip()
    target_port = farm.add("target", "answer", ip=target_ip)  # no carrier of the switch
    farm.add("k1", "redirect", code=code, contact=f"sip:{number}@{target_ip}:{target_port}")
    farm.add("k2", "answer")
    w, tariff = _lcr(dataplane, farm, ["k1", "k2"])
    caller = open_route(dataplane, caller_factory, w, tariff)

    result = caller.run(number, hold_ms=100, timeout=20)
    assert final_response(result) == "200 OK"
    tag = customer_tag(result.messages)
    assert farm.who_got(tag) == ["k1", "k2"]
    assert farm.answered_by(tag) == "k2"
    redirected = farm.report("k1").call(tag)
    assert redirected is not None
    assert redirected.responses_sent == ["100 Trying", f"{code} {reason}"]
    assert any(m.direction == "received" and m.method == "ACK" for m in redirected.messages)
    # the customer never saw the 3xx nor the redirect target's address
    assert not any(m.direction == "received" and m.first_line.startswith("SIP/2.0 3")
                   for m in result.messages)
    assert not any(_mentions(m.text, target_ip) for m in result.messages
                   if m.direction == "received")
    time.sleep(0.3)  # anything sent to the target would be there by now
    assert farm.messages("target") == [], "the redirect target received a message"


def test_3xx_from_the_last_carrier_is_not_passed_on(dataplane: Dataplane, farm: CarrierFarm,
                                                    caller_factory: CallerFactory) -> None:
    """The only carrier redirects: the call fails, nothing follows the redirect, and
    the customer is handed neither a redirect (3xx) nor any address behind the switch
    (the redirect target, the carrier's gateway) in a Contact."""
    number = "4474000399"
    target_ip = dataplane.source_ip()
    target_port = farm.add("target", "answer", ip=target_ip)
    k1_port = farm.add("k1", "redirect", contact=f"sip:{number}@{target_ip}:{target_port}")
    gateway = f"127.0.0.1:{k1_port}"
    w, tariff = _lcr(dataplane, farm, ["k1"])
    caller = open_route(dataplane, caller_factory, w, tariff)

    result = caller.run(number, timeout=20)
    assert farm.who_got(customer_tag(result.messages)) == ["k1"]
    time.sleep(0.3)
    assert farm.messages("target") == [], "the redirect target received a message"
    leaked = [m.text for m in result.messages if m.direction == "received"
              and (_mentions(m.text, target_ip) or _mentions(m.text, gateway))]
    assert not leaked, "the customer was handed an address behind the switch:\n" + \
        "\n".join(leaked)
    final = final_response(result)
    assert final is not None and final[0] not in "23", \
        f"the customer got {final}: a redirect to follow"


# Max-Forwards ------------------------------------------------------------------------

def test_max_forwards_zero_is_refused_with_483(dataplane: Dataplane, farm: CarrierFarm,
                                               caller_factory: CallerFactory,
                                               tmp_path: Path) -> None:
    farm.add("k", "answer")
    w, tariff = _lcr(dataplane, farm, ["k"])
    src = open_route(dataplane, caller_factory, w, tariff).ip

    result = _maxfwd_call(dataplane, tmp_path, src, "4474000001", 0)
    assert final_response(result) == "483 Too Many Hops"
    time.sleep(0.2)
    assert farm.report("k").invites == 0


@pytest.mark.parametrize("sent,expected", [(5, "4"), (1, "0"), (70, "69")])
def test_max_forwards_reaches_the_carrier_decremented(
        dataplane: Dataplane, farm: CarrierFarm, caller_factory: CallerFactory,
        tmp_path: Path, sent: int, expected: str) -> None:
    farm.add("k", "answer")
    w, tariff = _lcr(dataplane, farm, ["k"])
    src = open_route(dataplane, caller_factory, w, tariff).ip

    result = _maxfwd_call(dataplane, tmp_path, src, f"44740001{sent:02d}", sent)
    assert final_response(result) == "200 OK"
    assert result.exit_code == 0, result.errors[-2000:]
    call = farm.report("k").call(customer_tag(result.messages))
    assert call is not None
    assert call.invite.header("Max-Forwards") == expected
    assert call.bye is not None


# Loops -------------------------------------------------------------------------------

def test_gateway_pointing_at_the_switch_fails_with_482(dataplane: Dataplane,
                                                        caller_factory: CallerFactory) -> None:
    s = dataplane.settings
    number = "4474000482"
    w = dataplane.world()
    loop = w.carrier([s.sip_port], host=s.sip_ip)
    tariff = w.tariff([w.provider_card(loop, {"44": "0.01"})])
    caller = open_route(dataplane, caller_factory, w, tariff)
    log = s.log_dir / "kamailio.log"
    log_start = log.stat().st_size

    started = time.monotonic()
    result = caller.run(number, timeout=20)
    elapsed = time.monotonic() - started
    assert final_response(result) == "482 Loop Detected"
    assert elapsed < 3.0, f"the call took {elapsed:.1f} s to fail"
    time.sleep(0.5)  # a loop would go on meanwhile
    with open(log, errors="replace") as f:
        f.seek(log_start)
        new = f.read()
    refused = [line for line in new.splitlines()
               if "loop:" in line and f"sip:{number}@" in line]
    assert len(refused) == 1, \
        f"the switch saw its own INVITE {len(refused)} times:\n" + "\n".join(refused)
