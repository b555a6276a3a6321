"""PRODUCT.md §1 ingress route Media: DTMF events are detected and counted per call only
when media is proxied.

The customer's SIPp sends RFC 2833 telephone events (``<exec play_dtmf=...>``, payload
type 101 as offered by uac_call.xml); rtpengine reports each event to the DTMF
collector (``dtmf-log-dest``), which counts them per Call-ID in the data plane's
database. A route with direct media keeps rtpengine out of the call: nothing counted.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from orchestrator.media.dtmf import DtmfCollector, ping
from orchestrator.media.models import DtmfCount
from orchestrator.media.service import database_sink, dtmf_count, dtmf_record
from tests.support.carriers import CarrierFarm
from tests.support.dataplane import Dataplane
from tests.support.ports import free_port
from tests.support.sipp import SCENARIOS, Sipp, final_response

if TYPE_CHECKING:
    from tests.integration.routing.conftest import CallerFactory

pytestmark = pytest.mark.integration

DIGITS = "123"
SIP_TESTER = "/usr/share/sip-tester"
DIGIT_FILES = {"*": "star", "#": "pound"}
DIGIT_GAP_MS = 300  # each capture lasts 140 ms; a new play stops the previous one


@pytest.fixture
def collector(dataplane: Dataplane) -> Iterator[DtmfCollector]:
    """The DTMF collector on the data plane's dtmf_port, writing to its database."""
    running = DtmfCollector("127.0.0.1", dataplane.settings.dtmf_port,
                            database_sink(dataplane.sessions), flush_seconds=0.2).start()
    try:
        assert ping("127.0.0.1", dataplane.settings.dtmf_port)
        yield running
    finally:
        running.close()


def dtmf_scenario(workdir: Path, digits: str) -> str:
    """uac_call.xml sending RFC 2833 ``digits`` after the ACK in place of the G.711
    recording: sip-tester's one-digit captures (payload type 101, as uac_call.xml
    offers), one after the other.

    (SIPp 3.6's ``<exec play_dtmf=...>`` sends payload type 96, which neither the
    offer nor the carriers' answer declares: rtpengine does not take it as DTMF.)
    """
    source = (SCENARIOS / "uac_call.xml").read_text()
    block = re.compile(r'<nop condexec="play">\s*<action>\s*'
                       r'<exec play_pcap_audio="[^"]*g711a\.pcap"/>\s*</action>\s*</nop>')
    plays = "\n  ".join(
        f'<nop><action><exec play_pcap_audio="{SIP_TESTER}/dtmf_2833_'
        f'{DIGIT_FILES.get(d, d)}.pcap"/></action></nop>'
        f'<pause milliseconds="{DIGIT_GAP_MS}"/>' for d in digits)
    text, count = block.subn(plays, source)
    assert count == 1, "uac_call.xml no longer plays g711a.pcap in one <nop>"
    path = workdir / f"uac_dtmf_{len(digits)}.xml"
    workdir.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def _call_id(sipp: Sipp) -> str:
    invites = [m for m in sipp.messages() if m.direction == "sent"
               and m.first_line.startswith("INVITE")]
    assert invites, "the customer sent no INVITE"
    return invites[0].call_id


def _count(plane: Dataplane, call_id: str) -> int | None:
    with plane.sessions() as session:
        return dtmf_count(session, call_id)


def _wait_count(plane: Dataplane, call_id: str, want: int, timeout: float = 5.0) -> int | None:
    deadline = time.monotonic() + timeout
    while (got := _count(plane, call_id)) != want and time.monotonic() < deadline:
        time.sleep(0.1)
    return got


def test_dtmf_counted_per_call_only_when_media_is_proxied(
        dataplane: Dataplane, farm: CarrierFarm, caller_factory: CallerFactory,
        collector: DtmfCollector, tmp_path: Path) -> None:
    w = dataplane.world()
    card = w.provider_card(w.carrier([farm.add("dtmf", "answer")]), {"44": "0.01"})
    tariff = w.tariff([card])
    src = dataplane.source_ip()
    customer = w.customer(ips_=[src])
    w.route(customer, tariff, tech_prefix="71", rtp_proxy="auto")
    w.route(customer, tariff, tech_prefix="72", rtp_proxy="direct")
    w.commit()
    dataplane.apply()
    caller = caller_factory(src)
    scenario = dtmf_scenario(tmp_path / "scenarios", DIGITS)

    def call(number: str) -> str:
        sipp = caller.start(number, scenario=scenario, media=True, hold_ms=2500,
                            media_port=free_port())
        try:
            assert final_response(sipp.result(timeout=30)) == "200 OK"
            return _call_id(sipp)
        finally:
            sipp.stop()

    direct = call("72441000")      # first: its events, if any, would arrive first
    proxied = call("71441000")
    assert direct != proxied

    assert _wait_count(dataplane, proxied, len(DIGITS)) == len(DIGITS), collector.stats
    with dataplane.sessions() as session:
        row = dtmf_record(session, proxied)
        assert row is not None and row.digits == DIGITS
        assert row.first_at <= row.last_at
        # rtpengine never saw the direct call: no row at all
        assert dtmf_count(session, direct) is None
        assert session.get(DtmfCount, direct) is None
    assert collector.stats.bad == 0
