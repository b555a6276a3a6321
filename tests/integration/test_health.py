"""health.collect against the real daemons, dead ports and hung daemons."""

from __future__ import annotations

import socket
import time

import pytest

from orchestrator.stack.health import collect
from tests.support.dataplane import Dataplane
from tests.support.ports import free_port

pytestmark = pytest.mark.integration


def test_both_up_with_versions_uptime_and_calls(dataplane: Dataplane) -> None:
    report = collect(dataplane.settings)
    assert report.all_up
    kamailio, rtpengine = report.kamailio, report.rtpengine
    assert kamailio.version is not None and kamailio.version.startswith("kamailio 5.6.")
    assert rtpengine.version is not None and rtpengine.version.startswith("rtpengine 10.5")
    for daemon in (kamailio, rtpengine):
        assert daemon.error is None
        assert isinstance(daemon.uptime_seconds, int) and daemon.uptime_seconds >= 0
        assert isinstance(daemon.active_calls, int) and daemon.active_calls >= 0


def test_kamailio_down_on_a_dead_port(dataplane: Dataplane) -> None:
    settings = dataplane.settings.with_overrides(rpc_port=free_port())
    report = collect(settings)
    assert not report.all_up
    assert report.kamailio.up is False
    assert report.kamailio.error == "connection refused"
    assert report.kamailio.version is None
    assert report.rtpengine.up is True


def test_rtpengine_down_on_a_dead_port(dataplane: Dataplane) -> None:
    settings = dataplane.settings.with_overrides(rtpengine_ng_port=free_port())
    report = collect(settings)
    assert report.kamailio.up is True
    assert report.rtpengine.up is False
    assert report.rtpengine.error == "port unreachable, nothing listens"
    assert report.rtpengine.version is None


def test_hung_daemons_are_reported_down_within_the_timeout(dataplane: Dataplane) -> None:
    with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        tcp.bind(("127.0.0.1", 0))
        tcp.listen()                       # accepts, never answers
        udp.bind(("127.0.0.1", 0))         # receives, never answers
        settings = dataplane.settings.with_overrides(
            rpc_port=tcp.getsockname()[1], rtpengine_ng_port=udp.getsockname()[1])
        start = time.monotonic()
        report = collect(settings, timeout=1.0)
        elapsed = time.monotonic() - start
    assert elapsed < 1.0 + 0.5             # both asked at once
    assert report.kamailio.up is False
    assert report.kamailio.error == "no answer to core.version within 1 s"
    assert report.rtpengine.up is False
    assert report.rtpengine.error is not None
    assert report.rtpengine.error.startswith("no answer to ping within 0.5 s")
