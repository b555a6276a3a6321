"""Issue 6, topology hiding: a carrier never sees a customer's address, port, Contact,
Via, Record-Route or Call-ID, and a customer never sees a carrier's, in any message
of a call (headers and SDP), whoever hangs up and whoever sends in-dialog requests.

Customers call from their own 127.0.x.y address, carriers answer on their own one
(not the switch's 127.0.0.1), so any address in a message tells who wrote it.
"""

from __future__ import annotations

import time

import pytest

from tests.support.carriers import CarrierFarm, customer_tag
from tests.support.dataplane import Dataplane
from tests.support.leaks import leaks, side_secrets
from tests.support.ports import free_port
from tests.support.sipp import SippResult, final_response, uac

pytestmark = pytest.mark.integration


def _call(dataplane: Dataplane, farm: CarrierFarm, tmp_path_factory: pytest.TempPathFactory,
          number: str, carrier: dict[str, object], **customer: object
          ) -> tuple[SippResult, str, int, str, int]:
    """One customer, one carrier on their own addresses; one call.  Returns the
    customer's result, its address and port, the carrier's address and port."""
    carrier_ip = dataplane.source_ip()
    port = farm.add("far", "answer", ip=carrier_ip, media=1, **carrier)  # type: ignore[arg-type]
    w = dataplane.world()
    card = w.provider_card(w.carrier([port], host=carrier_ip), {"44": "0.01"})
    src = dataplane.source_ip()
    w.route(w.customer(ips_=[src]), w.tariff([card]))
    w.commit()
    dataplane.apply()
    customer_port = free_port()
    workdir = tmp_path_factory.mktemp("customer")
    sipp = uac(workdir, dataplane.target, number, port=customer_port, ip=src, media=True,
               **customer).start()  # type: ignore[arg-type]
    try:
        result = sipp.result(timeout=60)
    finally:
        sipp.stop()
    return result, src, customer_port, carrier_ip, port


def _assert_hidden(result: SippResult, farm: CarrierFarm, customer: tuple[str, int],
                   carrier: tuple[str, int]) -> None:
    (call,) = farm.report("far").calls
    customer_secrets = side_secrets(result.messages, ip=customer[0], port=customer[1])
    carrier_secrets = side_secrets(call.messages, ip=carrier[0], port=carrier[1])
    seen_by_carrier = leaks(call.messages, customer_secrets)
    assert not seen_by_carrier, "the carrier saw:\n" + "\n".join(seen_by_carrier)
    seen_by_customer = leaks(result.messages, carrier_secrets)
    assert not seen_by_customer, "the customer saw:\n" + "\n".join(seen_by_customer)


def test_customer_hangs_up_nothing_leaks(dataplane: Dataplane, farm: CarrierFarm,
                                         tmp_path_factory: pytest.TempPathFactory) -> None:
    """Both sides send an in-dialog OPTIONS; the customer sends the BYE."""
    result, src, sport, cip, cport = _call(dataplane, farm, tmp_path_factory, "4471000001",
                                           {"ping_ms": 300}, hold_ms=1500, ping_ms=200)
    assert final_response(result) == "200 OK"
    (call,) = farm.report("far").calls
    assert call.bye is not None                       # the customer's BYE got through
    assert [m.first_line for m in call.messages
            if m.direction == "received" and m.first_line.startswith("SIP/2.0 200")
            and m.method == "OPTIONS"], "the carrier's OPTIONS was not answered"
    assert len(result.received("OPTIONS")) == 1       # the carrier's OPTIONS arrived
    _assert_hidden(result, farm, (src, sport), (cip, cport))


def test_carrier_hangs_up_nothing_leaks(dataplane: Dataplane, farm: CarrierFarm,
                                        tmp_path_factory: pytest.TempPathFactory) -> None:
    result, src, sport, cip, cport = _call(dataplane, farm, tmp_path_factory, "4471000002",
                                           {"hangup_ms": 800}, hold_ms=20000)
    assert final_response(result) == "200 OK"
    assert len(result.received("BYE")) == 1           # the carrier's BYE reached the customer
    (call,) = farm.report("far").calls
    assert call.sent_bye
    assert any(m.direction == "received" and m.first_line.startswith("SIP/2.0 200")
               and m.method == "BYE" for m in call.messages)
    _assert_hidden(result, farm, (src, sport), (cip, cport))


def test_hiding_keeps_no_state_calls_survive_a_restart(
        dataplane: Dataplane, farm: CarrierFarm,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """topoh encodes instead of storing: a Kamailio restart in the middle of a call
    (all its memory gone) still decodes the customer's BYE towards the carrier.  The
    same property keeps calls of any length working (topos drops its records after
    3 h by default)."""
    carrier_ip = dataplane.source_ip()
    port = farm.add("far", "answer", ip=carrier_ip)
    w = dataplane.world()
    card = w.provider_card(w.carrier([port], host=carrier_ip), {"44": "0.01"})
    src = dataplane.source_ip()
    w.route(w.customer(ips_=[src]), w.tariff([card]), rtp_proxy="direct")
    w.commit()
    dataplane.apply()
    sipp = uac(tmp_path_factory.mktemp("customer"), dataplane.target, "4471000003",
               port=free_port(), ip=src, hold_ms=6000).start()
    try:
        deadline = time.monotonic() + 5
        while not farm.report("far").calls and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        dataplane.restart_kamailio()
        result = sipp.result(timeout=30)
    finally:
        sipp.stop()
    assert final_response(result) == "200 OK"
    assert result.exit_code == 0, result.errors          # the BYE was answered
    (call,) = farm.report("far").calls
    assert call.bye is not None and call.bye.call_id == call.call_id
    sent = [m for m in result.messages if m.direction == "sent" and m.method == "INVITE"]
    assert call.from_tag == customer_tag(result.messages)
    assert call.call_id != sent[0].call_id                # the carrier saw a masked Call-ID


def test_switch_generated_bye_leaks_nothing(dataplane: Dataplane, farm: CarrierFarm,
                                            tmp_path_factory: pytest.TempPathFactory) -> None:
    """Requests the switch makes up itself (the BYEs of a max-duration cut) are hidden
    like relayed ones: the dialog module's stored From/To/Call-ID would name the
    customer."""
    carrier_ip = dataplane.source_ip()
    port = farm.add("far", "answer", ip=carrier_ip)
    w = dataplane.world()
    card = w.provider_card(w.carrier([port], host=carrier_ip), {"44": "0.01"})
    src, src_port = dataplane.source_ip(), free_port()
    w.route(w.customer(ips_=[src]), w.tariff([card]), max_duration=1)
    w.commit()
    dataplane.apply()
    sipp = uac(tmp_path_factory.mktemp("customer"), dataplane.target, "4471000004",
               port=src_port, ip=src, hold_ms=8000).start()
    try:
        result = sipp.result(timeout=30)
    finally:
        sipp.stop()
    assert len(result.received("BYE")) == 1               # cut by the switch
    (call,) = farm.report("far").calls
    assert call.bye is not None and not call.sent_bye     # the switch's own BYE arrived
    _assert_hidden(result, farm, (src, src_port), (carrier_ip, port))
