"""One CDR per call attempt, written by Kamailio and collected into the database:
answered calls (who hung up, durations, PDD, failover history), refusals before
routing, carriers' failures, cancels, max duration and RTP timeout."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from orchestrator.billing.collector import CdrCollector
from orchestrator.billing.collector_setup import build_collector
from orchestrator.billing.models import Cdr
from orchestrator.ratecards.models import RateRevision
from orchestrator.routing.models import IngressRoute
from tests.integration.billing.conftest import cdrs_of, open_route
from tests.support.carriers import CarrierFarm
from tests.support.dataplane import SESSION_RTP_TIMEOUT, Dataplane
from tests.support.ports import free_port
from tests.support.sipp import final_response, uac

if TYPE_CHECKING:
    from tests.integration.routing.conftest import CallerFactory

pytestmark = pytest.mark.integration

NUMBER = "441234567"


def _by_source(dataplane: Dataplane, collector: CdrCollector, ip: str,
               count: int, timeout: float = 10.0) -> list[Cdr]:
    """The CDRs of calls from ``ip`` once there are ``count`` (collecting until then)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = cdrs_of(dataplane, collector, lambda c: c.source_ip == ip)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_answered_call_after_failover(dataplane: Dataplane, farm: CarrierFarm,
                                      collector: CdrCollector,
                                      caller_factory: CallerFactory) -> None:
    farm.add("a", "reject", code=503)
    farm.add("b", "answer", ring_ms=300, answer_ms=600)
    w = dataplane.world()
    ka, kb = w.carrier([farm.port("a")]), w.carrier([farm.port("b")])
    pa, pb = w.provider_card(ka, {"44": "0.01"}), w.provider_card(kb, {"44": "0.02"})
    tariff = w.tariff([pa, pb])
    caller = open_route(dataplane, caller_factory, w, tariff)
    route = w.session.scalars(select(IngressRoute).where(
        IngressRoute.tariff_id == tariff.id)).one()
    revision = w.session.scalars(select(RateRevision.id).where(
        RateRevision.customer_card_id == tariff.id, RateRevision.state == "active")).one()
    route_id, customer_id = route.id, route.customer_id

    assert caller.call(NUMBER, hold_ms=1500, caller="15551230000") == "200 OK"
    [cdr] = _by_source(dataplane, collector, caller.ip, 1)

    assert (cdr.code, cdr.reason, cdr.hangup) == (200, "OK", "caller")
    assert (cdr.customer_id, cdr.route_id) == (customer_id, route_id)
    assert (cdr.carrier_id, cdr.provider_card_id) == (kb.id, pb.id)
    assert cdr.tried == f"{ka.id}:{pa.id}:503"
    assert (cdr.caller, cdr.dialled, cdr.number, cdr.routed) == (
        "15551230000", NUMBER, NUMBER, NUMBER)
    assert cdr.customer_card_revision_id == revision
    assert (cdr.media, cdr.media_zone, cdr.sip_user) == ("proxy", "auto", "")
    assert cdr.answer_at is not None and cdr.pdd_ms is not None
    # the carrier rang 300 ms and answered 600 ms after the INVITE; the customer held
    # the call 1.5 s after the answer
    assert 250 <= cdr.pdd_ms <= 1000, cdr.pdd_ms
    assert timedelta(milliseconds=500) <= cdr.answer_at - cdr.start_at <= timedelta(seconds=2)
    assert 1400 <= cdr.duration_ms <= 2500, cdr.duration_ms
    held = cdr.end_at - cdr.answer_at
    assert timedelta(0) <= held - timedelta(milliseconds=cdr.duration_ms) < timedelta(
        milliseconds=1)


def test_refusals_before_routing(dataplane: Dataplane, farm: CarrierFarm,
                                 collector: CdrCollector,
                                 caller_factory: CallerFactory) -> None:
    farm.add("a", "answer")
    w = dataplane.world()
    tariff = w.tariff([w.provider_card(w.carrier([farm.port("a")]), {"44": "0.01"})])
    caller = open_route(dataplane, caller_factory, w, tariff)
    stranger = caller_factory(dataplane.source_ip())   # no IP auth entry

    assert caller.call("9912345") == "404 No Rate"
    assert stranger.call(NUMBER) == "403 IP Not Authorised"

    [refused] = _by_source(dataplane, collector, caller.ip, 1)
    assert (refused.code, refused.reason, refused.hangup) == (404, "No Rate", "")
    assert refused.customer_id is not None and refused.carrier_id is None
    assert refused.answer_at is None and refused.duration_ms == 0
    assert refused.dialled == "9912345" and refused.tried == ""
    [unknown] = _by_source(dataplane, collector, stranger.ip, 1)
    assert (unknown.code, unknown.reason) == (403, "IP Not Authorised")
    assert unknown.customer_id is None and unknown.route_id is None


def test_every_carrier_fails(dataplane: Dataplane, farm: CarrierFarm,
                             collector: CdrCollector,
                             caller_factory: CallerFactory) -> None:
    """a 503 fails over, b's 486 is final: the customer gets 486, one CDR names both."""
    farm.add("a", "reject", code=503)
    farm.add("b", "reject", code=486)
    w = dataplane.world()
    ka, kb = w.carrier([farm.port("a")]), w.carrier([farm.port("b")])
    pa, pb = w.provider_card(ka, {"44": "0.01"}), w.provider_card(kb, {"44": "0.02"})
    caller = open_route(dataplane, caller_factory, w, w.tariff([pa, pb]))

    assert caller.call(NUMBER) == "486 Busy Here"
    [cdr] = _by_source(dataplane, collector, caller.ip, 1)
    assert (cdr.code, cdr.reason) == (486, "Busy Here")
    assert cdr.tried == f"{ka.id}:{pa.id}:503;{kb.id}:{pb.id}:486"
    assert (cdr.carrier_id, cdr.provider_card_id) == (kb.id, pb.id)
    assert cdr.answer_at is None and cdr.duration_ms == 0


def test_callee_hangs_up_and_cancel(dataplane: Dataplane, farm: CarrierFarm,
                                    collector: CdrCollector, tmp_path: Path,
                                    caller_factory: CallerFactory) -> None:
    farm.add("a", "answer", hangup_ms=1000)
    farm.add("r", "ring")
    w = dataplane.world()
    tariff = w.tariff([w.provider_card(w.carrier([farm.port("a")]), {"44": "0.01"}),
                       w.provider_card(w.carrier([farm.port("r")]), {"33": "0.01"})])
    caller = open_route(dataplane, caller_factory, w, tariff)

    caller.run(NUMBER, hold_ms=10_000, timeout=20)
    sipp = uac(tmp_path, dataplane.target, "331234", port=free_port(), ip=caller.ip,
               scenario="uac_cancel.xml", call_duration_ms=800).start()
    try:
        assert final_response(sipp.result(timeout=20)) == "487 Request Terminated"
    finally:
        sipp.stop()

    hung, cancelled = _by_source(dataplane, collector, caller.ip, 2)
    assert (hung.code, hung.hangup) == (200, "callee")
    assert 800 <= hung.duration_ms <= 2000, hung.duration_ms
    assert (cancelled.code, cancelled.reason) == (487, "Request Terminated")
    assert cancelled.answer_at is None and cancelled.dialled == "331234"


def test_max_duration_and_rtp_timeout(dataplane: Dataplane, farm: CarrierFarm,
                                      collector: CdrCollector,
                                      caller_factory: CallerFactory) -> None:
    """Calls the switch ends itself say why: max_duration (route 2) and rtp_timeout
    (no media at all, route with rtp_timeout on)."""
    farm.add("a", "answer")
    w = dataplane.world()
    tariff = w.tariff([w.provider_card(w.carrier([farm.port("a")]), {"44": "0.01"})])
    src = dataplane.source_ip()
    customer = w.customer(ips_=[src])
    w.route(customer, tariff, tech_prefix="1", max_duration=2)
    w.route(customer, tariff, tech_prefix="2", rtp_timeout=True)
    w.commit()
    dataplane.apply()
    caller = caller_factory(src)
    hold = (SESSION_RTP_TIMEOUT + 8) * 1000
    calls = [caller.start("1" + NUMBER, hold_ms=hold),
             caller.start("2" + NUMBER, hold_ms=hold, media_port=free_port())]
    try:
        for sipp in calls:
            sipp.result(timeout=hold / 1000 + 20)
    finally:
        for sipp in calls:
            sipp.stop()

    rows = {c.dialled: c for c in _by_source(dataplane, collector, src, 2)}
    capped, silent = rows["1" + NUMBER], rows["2" + NUMBER]
    assert (capped.code, capped.hangup) == (200, "max_duration")
    assert 1000 <= capped.duration_ms <= 3500, capped.duration_ms
    assert capped.number == NUMBER    # after the tech prefix
    assert (silent.code, silent.hangup) == (200, "rtp_timeout")
    assert (SESSION_RTP_TIMEOUT - 1) * 1000 <= silent.duration_ms <= (
        SESSION_RTP_TIMEOUT + 4) * 1000, silent.duration_ms


def test_rotation_with_kamailio(dataplane: Dataplane, farm: CarrierFarm,
                                caller_factory: CallerFactory) -> None:
    """flatstore.k_rotate: after the collector renames the files, Kamailio writes the
    next CDRs into fresh ones, and nothing is lost on the way."""
    farm.add("a", "answer")
    w = dataplane.world()
    tariff = w.tariff([w.provider_card(w.carrier([farm.port("a")]), {"44": "0.01"})])
    caller = open_route(dataplane, caller_factory, w, tariff)
    rotating = build_collector(dataplane.settings, dataplane.sessions, rate=False)
    rotating.rotate_bytes = 1
    rotating.retire_seconds = 0.0

    assert caller.call(NUMBER, hold_ms=100) == "200 OK"
    time.sleep(0.3)
    first = rotating.collect_once()
    assert first.rotated, "the live files were not rotated"
    assert not list(dataplane.settings.cdr_dir.glob("cdrs_*.log"))
    assert caller.call(NUMBER, hold_ms=100) == "200 OK"
    time.sleep(0.3)
    assert list(dataplane.settings.cdr_dir.glob("cdrs_*.log")), "no fresh file"
    rotating.collect_once()
    rows = _by_source(dataplane, rotating, caller.ip, 2)
    assert [r.code for r in rows] == [200, 200]
    assert len({r.call_id for r in rows}) == 2
    # after the rotation every process writes into a fresh file (a process still on a
    # renamed one would lose its lines once that file is read and deleted)
    for _ in range(6):
        assert caller.call("9912345") == "404 No Rate"
    time.sleep(0.3)
    rotating.collect_once()
    assert len(_by_source(dataplane, rotating, caller.ip, 8)) == 8


def test_sip_user_one_cdr_per_attempt(dataplane: Dataplane, farm: CarrierFarm,
                                      collector: CdrCollector,
                                      caller_factory: CallerFactory) -> None:
    """A digest caller: the 407 challenge is not an attempt; the authenticated INVITE
    (same Call-ID, next CSeq) is one CDR naming the SIP user."""
    farm.add("a", "answer")
    w = dataplane.world()
    tariff = w.tariff([w.provider_card(w.carrier([farm.port("a")]), {"44": "0.01"})])
    src = dataplane.source_ip()
    user = f"cdr-{src.replace('.', '-')}"
    customer = w.customer(users=[{"username": user, "password": "secret-cdr-1"}])
    w.route(customer, tariff)
    w.commit()
    dataplane.apply()
    caller = caller_factory(src)

    assert caller.call(NUMBER, scenario="uac_auth.xml", auth=(user, "secret-cdr-1"),
                       hold_ms=100) == "200 OK"
    [cdr] = _by_source(dataplane, collector, src, 1)
    assert (cdr.code, cdr.sip_user, cdr.customer_id) == (200, user, customer.id)
    assert cdr.cseq == 2


def test_too_many_hops_before_anything_else(dataplane: Dataplane, tmp_path: Path,
                                            collector: CdrCollector) -> None:
    """483 is the very first check (before the caller is even identified): its CDR has
    the source address and the time, nothing else."""
    from tests.integration.routing.test_redirect_loops import _maxfwd_call

    src = dataplane.source_ip()
    result = _maxfwd_call(dataplane, tmp_path, src, NUMBER, 0)
    assert final_response(result) == "483 Too Many Hops"
    [cdr] = _by_source(dataplane, collector, src, 1)
    assert (cdr.code, cdr.reason, cdr.customer_id) == (483, "Too Many Hops", None)
    assert cdr.start_at == cdr.end_at and cdr.dialled == NUMBER
