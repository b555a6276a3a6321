"""The thin RPC layer: JSON-RPC 2.0 over HTTP to Kamailio's jsonrpcs module.

Kamailio (xhttp + jsonrpcs) takes positional params and answers faults with an HTTP
error status *and* a JSON-RPC error object, e.g. an unknown method is
``{"error": {"code": 500, "message": "Method Not Found"}}`` with HTTP 500.
"""

from __future__ import annotations

import itertools
import logging
import re
import time
from typing import Any

import requests

from orchestrator.kamailio.errors import (
    KamailioConnectionError,
    KamailioFault,
    KamailioProtocolError,
    KamailioReloadBusy,
)

log = logging.getLogger(__name__)

# Fault texts of a reload refused within reload_delta or while one runs (Kamailio 5.6:
# dispatcher "Ongoing reload", dialplan/permissions "ongoing reload", all code 500).
RELOAD_BUSY_MESSAGES = frozenset({"ongoing reload"})


def is_reload_busy(message: str) -> bool:
    return message.strip().casefold() in RELOAD_BUSY_MESSAGES


class KamailioRPC:
    """``KamailioRPC("http://127.0.0.1:5071/RPC").call("core.version")``.

    A fault that means "reload ongoing / too soon after the last one" is retried
    ``reload_retries`` times, ``reload_retry_delay`` seconds apart, then raised as
    :class:`KamailioReloadBusy`. Each call uses its own HTTP connection, so one client
    may be shared between threads; proxy settings of the environment are ignored.
    """

    def __init__(self, url: str, timeout: float = 2.0, reload_retries: int = 5,
                 reload_retry_delay: float = 1.0) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.url = url
        self.timeout = timeout
        self.reload_retries = max(0, reload_retries)
        self.reload_retry_delay = reload_retry_delay
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"KamailioRPC({self.url!r}, timeout={self.timeout})"

    def call(self, method: str, *params: Any) -> Any:
        """Call ``method`` with positional params; return the result value or raise."""
        attempt = 0
        while True:
            try:
                return self._call_once(method, params)
            except KamailioReloadBusy as busy:
                if attempt >= self.reload_retries:
                    raise
                attempt += 1
                log.info("%s: %s; retry %d/%d in %.1f s", method, busy.message, attempt,
                         self.reload_retries, self.reload_retry_delay)
                time.sleep(self.reload_retry_delay)

    def _call_once(self, method: str, params: tuple[Any, ...]) -> Any:
        request_id = next(self._ids)
        payload: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": request_id}
        if params:
            payload["params"] = list(params)
        try:
            with requests.Session() as http:
                http.trust_env = False  # loopback control port: no HTTP_PROXY, no .netrc
                response = http.post(self.url, json=payload, timeout=self.timeout,
                                     headers={"Connection": "close"})
        except requests.ConnectTimeout as exc:
            raise KamailioConnectionError(
                self.url, f"no connection within {self.timeout:g} s") from exc
        except requests.ReadTimeout as exc:
            raise KamailioConnectionError(
                self.url, f"no answer to {method} within {self.timeout:g} s") from exc
        except requests.RequestException as exc:
            raise KamailioConnectionError(self.url, _connection_reason(exc)) from exc
        return _result(method, request_id, response)


def _result(method: str, request_id: int, response: requests.Response) -> Any:
    """The result of a JSON-RPC response, or the fault / protocol error it carries."""
    try:
        body = response.json()
    except ValueError:
        raise KamailioProtocolError(
            f"{method}: HTTP {response.status_code} without a JSON body: "
            f"{response.text[:120]!r}") from None
    if not isinstance(body, dict) or body.get("jsonrpc") != "2.0":
        raise KamailioProtocolError(f"{method}: not a JSON-RPC 2.0 response: {body!r:.200}")
    if body.get("id") != request_id:
        raise KamailioProtocolError(
            f"{method}: response id {body.get('id')!r} does not match request id {request_id}")
    if "error" in body:
        error = body["error"]
        code = error.get("code") if isinstance(error, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        if not isinstance(code, int) or isinstance(code, bool) or not isinstance(message, str):
            raise KamailioProtocolError(f"{method}: malformed error object {error!r:.200}")
        fault = KamailioReloadBusy if is_reload_busy(message) else KamailioFault
        raise fault(code, message, method)
    if "result" not in body:
        raise KamailioProtocolError(f"{method}: response has neither result nor error")
    return body["result"]


_ERRNO_TEXT = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")


def _connection_reason(exc: requests.RequestException) -> str:
    """A short reason: "connection refused", "connection closed without an answer" ..."""
    text = str(exc)
    if "RemoteDisconnected" in text or "Connection aborted" in text:
        return "connection closed without an answer"
    match = _ERRNO_TEXT.search(text)
    if match:
        return match.group(1).strip().rstrip(".").lower()
    return text[:200] or type(exc).__name__
