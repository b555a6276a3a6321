"""The collector over a real UDP socket, its batched writes and the `calls dtmf` CLI."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.cli import cli
from orchestrator.db import make_engine, session_factory, upgrade
from orchestrator.media.dtmf import CallTally, DtmfCollector, ping
from orchestrator.media.models import MAX_DIGITS
from orchestrator.media.service import database_sink, dtmf_count, dtmf_record
from tests.support.ports import free_port


def event(call_id: str, code: int) -> bytes:
    return json.dumps({"callid": call_id, "source_tag": "a", "type": "DTMF",
                       "timestamp": 1795669378, "event": code, "duration": 100}).encode()


def send(port: int, *datagrams: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for data in datagrams:
            sock.sendto(data, ("127.0.0.1", port))


def wait_for(check: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    upgrade(url)
    return session_factory(make_engine(url))


def test_batches_per_call_answers_ping_and_survives_garbage() -> None:
    batches: list[dict[str, tuple[int, str]]] = []

    def sink(batch: Mapping[str, CallTally]) -> None:
        batches.append({k: (v.events, v.digits) for k, v in batch.items()})

    port = free_port()
    collector = DtmfCollector("127.0.0.1", port, sink, flush_seconds=60,
                              max_pending=4).start()
    try:
        assert ping("127.0.0.1", port)
        send(port, event("a", 1), b"\x00junk", event("b", 10), b"{}", event("a", 2))
        wait_for(lambda: collector.stats.datagrams == 5)
        assert batches == []  # 3 events pending, below max_pending, flush 60 s away
        send(port, event("a", 3))
        wait_for(lambda: len(batches) == 1)
        assert batches[0] == {"a": (3, "123"), "b": (1, "*")}  # one write for four events
        send(port, event("c", 4))
        wait_for(lambda: collector.stats.datagrams == 7)
    finally:
        collector.close()
    assert batches[1] == {"c": (1, "4")}  # flushed on close
    assert (collector.stats.bad, collector.stats.events) == (2, 5)
    assert not ping("127.0.0.1", port, timeout=0.1)


def test_a_failed_write_is_kept_and_retried() -> None:
    calls: list[dict[str, int]] = []

    def flaky(batch: Mapping[str, CallTally]) -> None:
        calls.append({k: v.events for k, v in batch.items()})
        if len(calls) == 1:
            raise RuntimeError("database is locked")

    port = free_port()
    collector = DtmfCollector("127.0.0.1", port, flaky, flush_seconds=0.05).start()
    try:
        send(port, event("a", 1))
        wait_for(lambda: len(calls) >= 1)
        send(port, event("a", 2))
        wait_for(lambda: len(calls) >= 2)
    finally:
        collector.close()
    assert calls[1] == {"a": 2}
    assert collector.stats.flush_errors == 1


def test_database_sink_adds_to_existing_rows(sessions: sessionmaker[Session]) -> None:
    port = free_port()
    collector = DtmfCollector("127.0.0.1", port, database_sink(sessions),
                              flush_seconds=0.05).start()
    try:
        send(port, event("call-1", 1), event("call-1", 2))
        wait_for(lambda: _count(sessions, "call-1") == 2)
        send(port, event("call-1", 11), event("call-2", 0))
        wait_for(lambda: _count(sessions, "call-1") == 3 and _count(sessions, "call-2") == 1)
    finally:
        collector.close()
    with sessions() as session:
        row = dtmf_record(session, "call-1")
        assert row is not None and row.digits == "12#"
        assert dtmf_count(session, "never-seen") is None


def test_digits_are_capped_events_are_not(sessions: sessionmaker[Session]) -> None:
    sink = database_sink(sessions)
    now = datetime.now(UTC)
    for _ in range(3):
        sink({"long": CallTally(200, "1" * 200, now, now)})
    with sessions() as session:
        row = dtmf_record(session, "long")
        assert row is not None and row.events == 600 and len(row.digits) == MAX_DIGITS


def _count(sessions: sessionmaker[Session], call_id: str) -> int | None:
    with sessions() as session:
        return dtmf_count(session, call_id)


def test_cli_calls_dtmf(sessions: sessionmaker[Session], tmp_path: Path,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("ORCHESTRATOR_DATABASE_URL", f"sqlite:///{tmp_path / 'o.db'}")
    sink = database_sink(sessions)
    now = datetime.now(UTC)
    sink({"abc@host": CallTally(3, "123", now, now)})
    shown = CliRunner().invoke(cli, ["calls", "dtmf", "abc@host"])
    assert shown.exit_code == 0, shown.output
    assert "abc@host: 3 DTMF event(s), digits 123" in shown.output
    as_json = CliRunner().invoke(cli, ["calls", "dtmf", "abc@host", "--json"])
    assert json.loads(as_json.output)["events"] == 3
    missing = CliRunner().invoke(cli, ["calls", "dtmf", "nope", "--json"])
    assert json.loads(missing.output) == {"call_id": "nope", "events": 0, "digits": ""}
