"""The JSON-RPC client and the wrappers against the real Kamailio of ``dataplane``."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import requests

from orchestrator.compile.configs import write_configs
from orchestrator.kamailio import (
    KamailioConnectionError,
    KamailioFault,
    KamailioRPC,
    core,
    dlg,
    htable,
    pl,
    stats,
)
from orchestrator.stack.daemons import start_kamailio
from tests.support.dataplane import Dataplane
from tests.support.dataplane import test_settings as private_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def rpc(dataplane: Dataplane) -> KamailioRPC:
    return KamailioRPC(dataplane.settings.rpc_url, timeout=2.0)


def test_version_and_uptime(rpc: KamailioRPC) -> None:
    assert core.version(rpc).startswith("kamailio 5.6.")
    deadline = time.monotonic() + 3
    uptime = core.uptime(rpc)
    while uptime.seconds < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
        uptime = core.uptime(rpc)
    assert uptime.seconds >= 1
    assert uptime.up_since and uptime.now


def test_unknown_method_raises_fault_with_kamailios_code(rpc: KamailioRPC) -> None:
    with pytest.raises(KamailioFault) as caught:
        rpc.call("no.such_method")
    assert caught.value.code == 500            # Kamailio 5.6 does not use -32601
    assert caught.value.message == "Method Not Found"
    assert caught.value.method == "no.such_method"


def test_processes_memory_and_echo(rpc: KamailioRPC, dataplane: Dataplane) -> None:
    processes = core.ps(rpc)
    assert processes[0].pid == dataplane.kamailio.pid
    assert any(f"sock=127.0.0.1:{dataplane.settings.sip_port}" in p.description
               for p in processes)
    memory = core.shmmem(rpc)
    configured = dataplane.settings.kamailio_shm_mb * 1024 * 1024
    assert 0.9 * configured < memory.total <= configured       # -m of the settings
    assert 0 < memory.used < memory.total
    assert core.echo(rpc, "a", "b") == ["a", "b"]


def test_statistics(rpc: KamailioRPC) -> None:
    dialog = stats.get_statistics(rpc, "dialog:")
    assert dialog["dialog:active_dialogs"] >= 0
    assert set(stats.get_statistics(rpc, "active_dialogs")) == {"dialog:active_dialogs"}
    assert stats.get_statistics(rpc, "no_such_statistic") == {}


def test_htable_round_trip(rpc: KamailioRPC) -> None:
    key = f"test-{uuid.uuid4().hex[:8]}"
    htable.sets(rpc, "rr", key, "snapshot-abc")
    htable.seti(rpc, "rr", key + "-n", 42)
    assert htable.get(rpc, "rr", key) == "snapshot-abc"
    assert htable.get(rpc, "rr", key + "-n") == 42
    dump = htable.dump(rpc, "rr")
    assert dump[key] == "snapshot-abc" and dump[key + "-n"] == 42
    assert htable.delete(rpc, "rr", key) is True
    assert htable.delete(rpc, "rr", key) is False
    assert htable.get(rpc, "rr", key) is None
    htable.flush(rpc, "rr")
    assert htable.dump(rpc, "rr") == {}


def test_htable_faults(rpc: KamailioRPC) -> None:
    with pytest.raises(KamailioFault, match="No such htable"):
        htable.get(rpc, "no_such_table", "k")
    with pytest.raises(KamailioFault, match="No database htable"):
        htable.reload(rpc, "rr")     # rr (round-robin counters) lives in memory only


def test_dialogs(rpc: KamailioRPC) -> None:
    active = dlg.stats_active(rpc)
    assert active.all == active.starting + active.connecting + active.answering + active.ongoing
    assert dlg.active_count(rpc) >= 0
    assert isinstance(dlg.list_dialogs(rpc), list)
    with pytest.raises(KamailioFault, match="Couldnt find callid"):
        dlg.terminate_dlg(rpc, f"nope-{uuid.uuid4().hex}", "ftag", "ttag")
    with pytest.raises(KamailioFault) as caught:
        dlg.end_dlg(rpc, 1, 999_999)
    assert (caught.value.code, caught.value.message) == (404, "Dialog not found")


def test_pipelimit(rpc: KamailioRPC) -> None:
    assert isinstance(pl.stats(rpc), list)
    assert isinstance(pl.get_pipes(rpc), list)
    with pytest.raises(KamailioFault) as caught:
        pl.set_pipe(rpc, "no-such-pipe", "TAILDROP", 10)   # set_pipe changes existing pipes
    assert caught.value.code == 400
    assert "Unknown pipe id" in caught.value.message


def test_stopped_kamailio_raises_connection_error_within_the_timeout(
        dataplane: Dataplane, tmp_path: Path) -> None:
    settings = private_settings(tmp_path, rtpengine_ng_port=dataplane.settings.rtpengine_ng_port)
    proc = start_kamailio(settings, write_configs(settings).kamailio_cfg)
    try:
        rpc = KamailioRPC(settings.rpc_url, timeout=1.0)
        assert core.version(rpc).startswith("kamailio 5.6.")
    finally:
        proc.stop()
    assert not proc.running()
    start = time.monotonic()
    with pytest.raises(KamailioConnectionError) as caught:
        core.version(rpc)
    assert time.monotonic() - start < 1.0 + 0.5
    assert settings.rpc_url in str(caught.value)
    assert caught.value.reason == "connection refused"


def test_rpc_only_on_the_rpc_port(dataplane: Dataplane) -> None:
    """JSON-RPC is refused on the SIP TCP port; unknown paths get 404, not a hang."""
    s = dataplane.settings
    body = {"jsonrpc": "2.0", "method": "core.version", "id": 1}
    on_sip = requests.post(f"http://127.0.0.1:{s.sip_port}/RPC", json=body, timeout=3)
    assert on_sip.status_code == 403
    assert "kamailio" not in on_sip.text
    other = requests.get(f"http://127.0.0.1:{s.rpc_port}/not-rpc", timeout=3)
    assert other.status_code == 404
