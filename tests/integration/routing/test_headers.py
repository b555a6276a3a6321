"""Issue 6, header policy (docs/header-policy.md): which optional headers (X-*,
Diversion, History-Info, Remote-Party-ID) pass between a customer and a carrier, in the
INVITE, in its replies and in the caller's BYE; P-Asserted-Identity accept / require /
remove per customer; Privacy: id toward trusted and untrusted carriers.

Customers send sipp_scenarios/uac_headers.xml (extra header lines -set h1..h8, in the
INVITE and the BYE); carriers answer with sipp_scenarios/uas_headers.xml (extra lines
-set r1..r4 in the 180 and the 200) or are CarrierFarm carriers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.carriers import CarrierFarm
from tests.support.dataplane import Dataplane
from tests.support.header_calls import call_with_headers as _call
from tests.support.ports import free_port
from tests.support.sipp import (
    SipMessage,
    Sipp,
    SippResult,
    final_response,
    requests_received,
    uac,
    wait_udp_bound,
)

pytestmark = pytest.mark.integration

PAI = "P-Asserted-Identity: <sip:+441234000001@customer.example>"


class Carriers:
    """uas_headers.xml carriers, each on its own port; stopped (by pid) at the end."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.started: list[Sipp] = []

    def start(self, calls: int = 1, **replies: str) -> tuple[Sipp, int]:
        port = free_port()
        sipp = Sipp("uas_headers.xml", self.workdir, port=port, calls=calls,
                    media_port=free_port(), variables=dict(replies),
                    extra=["-trace_logs", "-log_file", "ready.log"])
        sipp.start(output=sipp.workdir / "output.log")
        self.started.append(sipp)
        wait_udp_bound(port, timeout=15.0)
        ready = sipp.workdir / "ready.log"
        deadline = time.monotonic() + 15
        while not (ready.exists() and "ready" in ready.read_text(errors="replace")):
            assert time.monotonic() < deadline, sipp.output()[-2000:]
            time.sleep(0.01)
        return sipp, port

    def stop(self) -> None:
        for sipp in self.started:
            sipp.terminate()


@pytest.fixture
def uas(tmp_path: Path) -> Iterator[Carriers]:
    carriers = Carriers(tmp_path / "uas")
    (tmp_path / "uas").mkdir()
    try:
        yield carriers
    finally:
        carriers.stop()


def _names(message: SipMessage) -> set[str]:
    """The header names of a message, lower-cased."""
    head = message.text.replace("\r\n", "\n").split("\n\n", 1)[0]
    return {line.split(":", 1)[0].strip().lower() for line in head.split("\n")[1:]
            if ":" in line}


def _reply(result: SippResult, code: str) -> SipMessage:
    found = [m for m in result.received(f"SIP/2.0 {code}") if m.method == "INVITE"]
    assert found, f"the customer got no {code} to its INVITE"
    return found[0]


def _only(result: SippResult, method: str) -> SipMessage:
    found = requests_received(result, method)
    assert len(found) == 1, f"{len(found)} {method} requests"
    return found[0]


def _open(dataplane: Dataplane, carrier_port: int, customer: dict[str, object],
          carrier: dict[str, object]) -> str:
    """One customer (own source address) routed to one carrier; applies."""
    w = dataplane.world()
    card = w.provider_card(w.carrier([carrier_port], **carrier), {"44": "0.01"})
    src = dataplane.source_ip()
    w.route(w.customer(ips_=[src], **customer), w.tariff([card]))
    w.commit()
    dataplane.apply()
    return src


def test_default_policy_strips_x_headers_both_ways(dataplane: Dataplane, uas: Carriers,
                                                   tmp_path: Path) -> None:
    """Defaults: X- headers (any case) stripped in the INVITE, its replies and the BYE;
    Diversion, History-Info, Remote-Party-ID, PAI and headers outside the optional
    family pass."""
    carrier, port = uas.start(r1="X-Carrier-Route: 7", r2="P-Carrier-Note: kept",
                              r3="Diversion: <sip:100@carrier.example>")
    src = _open(dataplane, port, {}, {})
    result = _call(dataplane, tmp_path, src, "4471000101",
                   "X-Foo: 1", "x-lower: 2", "Diversion: <sip:200@customer.example>",
                   "Remote-Party-ID: <sip:300@customer.example>;party=calling",
                   "History-Info: <sip:400@customer.example>;index=1", PAI,
                   "P-Custom-Note: kept")
    assert final_response(result) == "200 OK"
    seen = carrier.result(timeout=10)
    invite = _only(seen, "INVITE")
    names = _names(invite)
    assert "x-foo" not in names and "x-lower" not in names, invite.text
    assert {"diversion", "remote-party-id", "history-info", "p-asserted-identity",
            "p-custom-note"} <= names, invite.text
    bye = _only(seen, "BYE")
    assert "x-foo" not in _names(bye) and "diversion" in _names(bye), bye.text
    for code in ("180", "200"):
        reply = _reply(result, code)
        assert "x-carrier-route" not in _names(reply), reply.text
        assert {"p-carrier-note", "diversion"} <= _names(reply), reply.text


def test_header_passes_only_when_both_sides_allow_it(dataplane: Dataplane, uas: Carriers,
                                                     tmp_path: Path) -> None:
    """Customer X-Foo, X-Acme-*, Diversion; carrier X-Foo, X-Acme-Id, Remote-Party-ID:
    only X-Foo and X-Acme-Id pass, either way."""
    carrier, port = uas.start(r1="X-Foo: back", r2="X-Bar: back", r3="X-Acme-Id: back",
                              r4="Diversion: <sip:100@carrier.example>")
    src = _open(dataplane, port, {"pass_headers": "X-Foo, X-Acme-*, Diversion"},
                {"pass_headers": ["x-foo", "X-ACME-ID", "Remote-Party-ID"]})
    result = _call(dataplane, tmp_path, src, "4471000102",
                   "X-Foo: 1", "X-Acme-Id: 2", "X-Acme-Other: 3", "X-Bar: 4",
                   "Diversion: <sip:200@customer.example>",
                   "Remote-Party-ID: <sip:300@customer.example>;party=calling")
    assert final_response(result) == "200 OK"
    seen = carrier.result(timeout=10)
    family = {"x-foo", "x-acme-id", "x-acme-other", "x-bar", "diversion",
              "remote-party-id"}
    for request in (_only(seen, "INVITE"), _only(seen, "BYE")):
        assert _names(request) & family == {"x-foo", "x-acme-id"}, request.text
    for code in ("180", "200"):
        reply = _reply(result, code)
        assert _names(reply) & (family | {"x-bar"}) == {"x-foo", "x-acme-id"}, reply.text


def test_carrier_bye_filtered_toward_the_customer(dataplane: Dataplane, uas: Carriers,
                                                  tmp_path: Path) -> None:
    """In the dialog the other way: the carrier's BYE reaches the customer with the
    optional headers both list (customer X-Foo, Diversion; carrier X-*)."""
    carrier, port = uas.start(hangup="1", r1="X-Foo: bye", r2="X-Bar: bye",
                              r3="Diversion: <sip:100@carrier.example>",
                              r4="Remote-Party-ID: <sip:300@carrier.example>")
    src = _open(dataplane, port, {"pass_headers": "X-Foo, Diversion"},
                {"pass_headers": "X-*, Diversion, Remote-Party-ID"})
    sipp = uac(tmp_path, dataplane.target, "4471000110", port=free_port(), ip=src,
               hold_ms=10000).start()
    try:
        result = sipp.result(timeout=30)
    finally:
        sipp.stop()
    assert final_response(result) == "200 OK"
    bye = _only(result, "BYE")
    assert _names(bye) & {"x-foo", "x-bar", "diversion", "remote-party-id"} == {
        "x-foo", "diversion"}, bye.text
    assert carrier.result(timeout=10).exit_code == 0


def test_pai_required(dataplane: Dataplane, uas: Carriers, tmp_path: Path) -> None:
    carrier, port = uas.start(calls=1)
    src = _open(dataplane, port, {"pai": "require"}, {})
    refused = _call(dataplane, tmp_path, src, "4471000103", "X-Foo: 1")
    assert final_response(refused) == "403 PAI Required"
    accepted = _call(dataplane, tmp_path, src, "4471000104", PAI)
    assert final_response(accepted) == "200 OK"
    invites = requests_received(carrier.result(timeout=10), "INVITE")
    assert [m.request_user for m in invites] == ["4471000104"]
    assert invites[0].header("P-Asserted-Identity") == PAI.split(": ", 1)[1]


def test_pai_removed(dataplane: Dataplane, uas: Carriers, tmp_path: Path) -> None:
    carrier, port = uas.start()
    src = _open(dataplane, port, {"pai": "remove"}, {})
    result = _call(dataplane, tmp_path, src, "4471000105", PAI,
                   "Diversion: <sip:200@customer.example>")
    assert final_response(result) == "200 OK"
    seen = carrier.result(timeout=10)
    for request in (_only(seen, "INVITE"), _only(seen, "BYE")):
        assert "p-asserted-identity" not in _names(request), request.text
        assert "diversion" in _names(request), request.text


def _privacy_world(dataplane: Dataplane, farm: CarrierFarm) -> str:
    """Untrusted carrier (cheapest, fails 503), then a trusted one that answers."""
    farm.add("untrusted", "reject", code=503)
    farm.add("trusted", "answer")
    w = dataplane.world()
    cards = [w.provider_card(w.carrier([farm.port(name)], trust_pai=trust), {"44": cost})
             for name, trust, cost in (("untrusted", False, "0.01"),
                                       ("trusted", True, "0.02"))]
    src = dataplane.source_ip()
    w.route(w.customer(ips_=[src]), w.tariff(cards))
    w.commit()
    dataplane.apply()
    return src


def test_privacy_id_pai_only_to_trusted_carriers(dataplane: Dataplane, farm: CarrierFarm,
                                                 tmp_path: Path) -> None:
    """With Privacy: id the untrusted carrier's INVITE has no PAI, the trusted one's
    (next branch of the same call) has it; Privacy passes. Without Privacy both get it.
    The customer's own filter (X- stripped) applies to both branches."""
    src = _privacy_world(dataplane, farm)
    private = _call(dataplane, tmp_path, src, "4471000106", PAI, "Privacy: id", "X-Foo: 1")
    assert final_response(private) == "200 OK"
    public = _call(dataplane, tmp_path, src, "4471000107", PAI)
    assert final_response(public) == "200 OK"
    untrusted = {c.ruri_user: c.invite for c in farm.report("untrusted").calls}
    trusted = {c.ruri_user: c.invite for c in farm.report("trusted").calls}
    assert "p-asserted-identity" not in _names(untrusted["4471000106"])
    assert untrusted["4471000106"].header("Privacy") == "id"
    assert trusted["4471000106"].header("P-Asserted-Identity") == PAI.split(": ", 1)[1]
    # the customer-side filter holds for every branch (failover included)
    assert "x-foo" not in _names(untrusted["4471000106"]) | _names(trusted["4471000106"])
    assert "p-asserted-identity" in _names(untrusted["4471000107"])
    assert "p-asserted-identity" in _names(trusted["4471000107"])


def test_privacy_id_anonymous_from(dataplane: Dataplane, farm: CarrierFarm,
                                   tmp_path: Path) -> None:
    """Privacy: id: every carrier gets From Anonymous <sip:anonymous@...>; without it
    the caller's user stays. (Needs the From rewrite of branch_route[TO_CARRIER], which
    applies $avp(from_user) / $avp(from_dn) set by HEADERS_TO_CARRIER.)"""
    src = _privacy_world(dataplane, farm)
    assert final_response(_call(dataplane, tmp_path, src, "4471000108", PAI,
                                "Privacy: id")) == "200 OK"
    assert final_response(_call(dataplane, tmp_path, src, "4471000109", PAI)) == "200 OK"
    for name in ("untrusted", "trusted"):
        invites = {c.ruri_user: c.invite for c in farm.report(name).calls}
        anonymous = invites["4471000108"].header("From") or ""
        assert re.match(r'^"?Anonymous"? <sip:anonymous@', anonymous), (name, anonymous)
        assert "customer" not in anonymous, (name, anonymous)
        assert "sip:customer@" in (invites["4471000109"].header("From") or ""), name
