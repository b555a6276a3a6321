"""The JSON-RPC layer and the wrappers' parsing, against a scripted local HTTP server.

The answers mimic Kamailio 5.6 (jsonrpcs over xhttp), as seen from the real daemon:
faults come with an HTTP error status and a JSON-RPC error object.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from orchestrator.kamailio import (
    KamailioConnectionError,
    KamailioFault,
    KamailioProtocolError,
    KamailioReloadBusy,
    KamailioRPC,
    core,
    dialplan,
    dlg,
    htable,
    mtree,
    pl,
    stats,
)

# (request body, n-th request) -> (HTTP status, response body)
Script = Callable[[dict[str, Any], int], tuple[int, bytes]]


def ok(request: dict[str, Any], result: Any) -> tuple[int, bytes]:
    return 200, json.dumps({"jsonrpc": "2.0", "result": result, "id": request["id"]}).encode()


def fault(request: dict[str, Any], code: int, message: str) -> tuple[int, bytes]:
    body = {"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": request["id"]}
    return code, json.dumps(body).encode()


class FakeKamailio:
    def __init__(self, script: Script) -> None:
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                status, payload = script(body, len(fake.requests))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,),
                                       daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/RPC"

    def client(self, **kwargs: Any) -> KamailioRPC:
        return KamailioRPC(self.url, **kwargs)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[Script], FakeKamailio]]:
    started: list[FakeKamailio] = []

    def start(script: Script) -> FakeKamailio:
        started.append(FakeKamailio(script))
        return started[-1]

    yield start
    for fake in started:
        fake.close()


Serve = Callable[[Script], FakeKamailio]


def test_call_sends_positional_params_and_returns_the_result(serve: Serve) -> None:
    fake = serve(lambda req, n: ok(req, "Ok. Key set to new value."))
    assert fake.client().call("htable.seti", "switch", "k", 42) == "Ok. Key set to new value."
    request = fake.requests[0]
    assert request["jsonrpc"] == "2.0"
    assert request["method"] == "htable.seti"
    assert request["params"] == ["switch", "k", 42]


def test_fault_raises_kamailio_fault_with_code_and_message(serve: Serve) -> None:
    fake = serve(lambda req, n: fault(req, 500, "Method Not Found"))
    with pytest.raises(KamailioFault) as caught:
        fake.client().call("no.such")
    assert (caught.value.code, caught.value.message) == (500, "Method Not Found")
    assert caught.value.method == "no.such"
    assert not isinstance(caught.value, KamailioReloadBusy)
    assert len(fake.requests) == 1  # an ordinary fault is not retried


@pytest.mark.parametrize("message", ["Ongoing reload", "ongoing reload"])
def test_reload_busy_is_retried_then_succeeds(serve: Serve, message: str) -> None:
    def script(req: dict[str, Any], n: int) -> tuple[int, bytes]:
        return fault(req, 500, message) if n <= 2 else ok(req, "Reload OK")

    fake = serve(script)
    start = time.monotonic()
    assert fake.client(reload_retries=3, reload_retry_delay=0.1).call("x.reload") == "Reload OK"
    assert time.monotonic() - start >= 0.2
    assert len(fake.requests) == 3


def test_reload_busy_beyond_the_retries_is_raised(serve: Serve) -> None:
    fake = serve(lambda req, n: fault(req, 500, "Ongoing reload"))
    with pytest.raises(KamailioReloadBusy) as caught:
        fake.client(reload_retries=2, reload_retry_delay=0.01).call("dispatcher.reload")
    assert isinstance(caught.value, KamailioFault)
    assert caught.value.message == "Ongoing reload"
    assert len(fake.requests) == 3


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, b"not json"),
        (404, b"not found\n"),
        (200, b"[1, 2]"),
        (200, b'{"result": 1, "id": 1}'),
        (200, b'{"jsonrpc": "2.0", "id": 1}'),
        (200, b'{"jsonrpc": "2.0", "result": 1, "id": 999}'),
        (500, b'{"jsonrpc": "2.0", "error": {"code": "x", "message": "m"}, "id": 1}'),
        (500, b'{"jsonrpc": "2.0", "error": "broken", "id": 1}'),
    ],
    ids=["garbage", "http-404", "array", "no-version", "no-result", "wrong-id",
         "code-not-int", "error-not-object"],
)
def test_answers_that_are_not_json_rpc_raise_protocol_error(
        serve: Serve, status: int, body: bytes) -> None:
    fake = serve(lambda req, n: (status, body))
    with pytest.raises(KamailioProtocolError):
        fake.client().call("core.version")


def test_refused_connection_raises_connection_error_with_url() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/RPC"
    start = time.monotonic()
    with pytest.raises(KamailioConnectionError) as caught:
        KamailioRPC(url, timeout=1.0).call("core.version")
    assert time.monotonic() - start < 1.0
    assert url in str(caught.value)
    assert caught.value.reason == "connection refused"


def test_no_answer_raises_connection_error_within_the_timeout() -> None:
    with socket.socket() as listener:  # accepts, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/RPC"
        start = time.monotonic()
        with pytest.raises(KamailioConnectionError) as caught:
            KamailioRPC(url, timeout=0.5).call("core.version")
        elapsed = time.monotonic() - start
    assert 0.45 <= elapsed < 1.0
    assert "no answer to core.version within 0.5 s" in str(caught.value)


# Wrappers: the shapes Kamailio 5.6 answers with ------------------------------------------

def _answers(results: dict[str, Any]) -> Script:
    """Answer each method from results; a (code, message) tuple answers a fault."""
    def script(req: dict[str, Any], n: int) -> tuple[int, bytes]:
        result = results[req["method"]]
        return fault(req, *result) if isinstance(result, tuple) else ok(req, result)
    return script


def test_core_wrappers_return_typed_values(serve: Serve) -> None:
    rpc = serve(_answers({
        "core.version": "kamailio 5.6.3 (x86_64/linux) ",
        "core.uptime": {"now": "Wed", "up_since": "Tue", "uptime": 86400},
        "core.ps": [11, "main process - attendant", 12, "udp receiver child=0"],
        "core.shmmem": {"total": 10, "free": 4, "used": 5, "real_used": 6, "max_used": 7,
                        "fragments": 1},
    })).client()
    assert core.version(rpc) == "kamailio 5.6.3 (x86_64/linux)"
    assert core.uptime(rpc) == core.Uptime(86400, "Wed", "Tue")
    assert core.ps(rpc) == [core.Process(11, "main process - attendant"),
                            core.Process(12, "udp receiver child=0")]
    assert core.shmmem(rpc).real_used == 6


def test_malformed_structured_results_raise_protocol_error(serve: Serve) -> None:
    rpc = serve(_answers({"core.version": 5, "core.uptime": {"now": "x"},
                          "core.ps": [1, "a", 2], "dlg.stats_active": []})).client()
    for call in (core.version, core.uptime, core.ps, dlg.stats_active):
        with pytest.raises(KamailioProtocolError):
            call(rpc)


def test_statistics_lines_are_parsed(serve: Serve) -> None:
    fake = serve(_answers({"stats.get_statistics": [
        "dialog:active_dialogs = 3", "core:rcv_requests = 120"]}))
    assert stats.get_statistics(fake.client(), "dialog:", "rcv_requests") == {
        "dialog:active_dialogs": 3, "core:rcv_requests": 120}
    assert fake.requests[0]["params"] == ["dialog:", "rcv_requests"]


def test_dialog_counts(serve: Serve) -> None:
    rpc = serve(_answers({"dlg.stats_active": {
        "starting": 1, "connecting": 2, "answering": 0, "ongoing": 4, "all": 7}})).client()
    assert dlg.stats_active(rpc) == dlg.ActiveDialogs(1, 2, 0, 4, 7)
    assert dlg.active_count(rpc) == 7


def test_pipelimit_lines_are_parsed(serve: Serve) -> None:
    rpc = serve(_answers({
        "pl.stats": ["PIPE: id=cust-7 load=2 counter=5"],
        "pl.get_pipes": ["PIPE: id=cust-7 algorithm=TAILDROP limit=10 counter=5"],
    })).client()
    assert pl.stats(rpc) == [pl.PipeStats("cust-7", 2, 5)]
    assert pl.get_pipes(rpc) == [pl.Pipe("cust-7", "TAILDROP", 10, 5)]


def test_pipelimit_unexpected_line_is_a_protocol_error(serve: Serve) -> None:
    rpc = serve(_answers({"pl.stats": ["PIPE: id=x load=high counter=1"]})).client()
    with pytest.raises(KamailioProtocolError):
        pl.stats(rpc)


def test_absent_entries_give_none_not_an_error(serve: Serve) -> None:
    rpc = serve(_answers({
        "htable.get": (500, "Key name doesn't exist in htable."),
        "htable.delete": (404, "Key not found in htable."),
        "mtree.match": (404, "Prefix not found"),
        "dialplan.translate": (500, "No translation"),
    })).client()
    assert htable.get(rpc, "switch", "k") is None
    assert htable.delete(rpc, "switch", "k") is False
    assert mtree.match(rpc, "rates", "999") is None
    assert dialplan.translate(rpc, 1, "123") is None


def test_other_faults_of_wrappers_are_raised(serve: Serve) -> None:
    rpc = serve(_answers({"htable.get": (500, "No such htable")})).client()
    with pytest.raises(KamailioFault, match="No such htable"):
        htable.get(rpc, "nope", "k")


def test_htable_dump_is_flattened(serve: Serve) -> None:
    rpc = serve(_answers({"htable.dump": [
        {"entry": 99, "size": 1, "slot": [{"name": "k2", "value": 42, "type": "int"}]},
        {"entry": 102, "size": 1, "slot": [{"name": "k1", "value": "v1", "type": "str"}]},
    ]})).client()
    assert htable.dump(rpc, "switch") == {"k1": "v1", "k2": 42}


def test_shared_memory_above_2_gib_is_read_unsigned(serve: Serve) -> None:
    # Kamailio 5.6 with -m 3072 answers total -1073741824 (a 32-bit signed overflow)
    rpc = serve(_answers({"core.shmmem": {
        "total": -1073741824, "free": 2000000000, "used": 5, "real_used": 597688320,
        "max_used": -1104150528, "fragments": 1}})).client()
    memory = core.shmmem(rpc)
    assert memory.total == 3072 * 1024 * 1024
    assert memory.max_used == 2**32 - 1104150528
    assert memory.real_used == 597688320
