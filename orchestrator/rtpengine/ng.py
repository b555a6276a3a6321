"""Client of rtpengine's ng control protocol: ``<cookie> <bencoded dict>`` over UDP.

Every request carries a fresh random cookie and only an answer carrying that cookie
is taken (stray or late answers to other requests are ignored). A request that gets
no answer within ``timeout`` is sent again with the *same* cookie: rtpengine caches
answers by cookie, so a retried command is never executed twice. Answers are
dictionaries with ``result`` "ok" ("pong" for ping) or "error" plus ``error-reason``.
"""

from __future__ import annotations

import logging
import secrets
import socket
import time
from typing import Any

from orchestrator.rtpengine.bencode import BencodeError, decode, encode

log = logging.getLogger(__name__)
MAX_DATAGRAM = 65535


class NgError(RuntimeError):
    """Base of the ng client's errors."""


class NgUnanswered(NgError):
    """rtpengine could not be asked; ``reason`` is short, the message adds the address."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(f"rtpengine at {address}: {reason}")
        self.address = address
        self.reason = reason


class NgTimeout(NgUnanswered):
    """No answer after every try (daemon stopped, hung, or the wrong port)."""


class NgUnreachable(NgUnanswered):
    """The host answered "port unreachable": nothing listens on the ng port."""


class NgProtocolError(NgError):
    """An answer with our cookie that is not a valid ng reply."""


class NgFailure(NgError):
    """rtpengine answered ``result: error``; ``reason`` is its ``error-reason``."""

    def __init__(self, reason: str, command: str | None = None) -> None:
        super().__init__(f"rtpengine refused {command}: {reason}" if command else reason)
        self.reason = reason
        self.command = command


class NgClient:
    """``NgClient("127.0.0.1", 2223).ping()``; one UDP socket per request, thread-safe."""

    def __init__(self, host: str, port: int, timeout: float = 1.0, retries: int = 2) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.host = host
        self.port = port
        self.timeout = timeout
        self.retries = max(0, retries)

    @property
    def address(self) -> str:
        return f"udp://{self.host}:{self.port}"

    def __repr__(self) -> str:
        return f"NgClient({self.host!r}, {self.port}, timeout={self.timeout})"

    def request(self, command: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send ``{"command": command, **params}``; return the answer or raise NgError."""
        cookie = secrets.token_hex(8).encode()
        packet = cookie + b" " + encode({**(params or {}), "command": command})
        family, kind, proto, _, sockaddr = socket.getaddrinfo(
            self.host, self.port, type=socket.SOCK_DGRAM)[0]
        with socket.socket(family, kind, proto) as sock:
            sock.connect(sockaddr)
            for attempt in range(1, self.retries + 2):
                if attempt > 1:
                    log.debug("ng %s to %s: no answer, try %d", command, self.address, attempt)
                try:
                    sock.send(packet)
                    reply = self._receive(sock, cookie, command)
                except ConnectionRefusedError:
                    raise NgUnreachable(
                        self.address, "port unreachable, nothing listens") from None
                if reply is not None:
                    return _checked(command, reply)
        tries = self.retries + 1
        raise NgTimeout(self.address, f"no answer to {command} within {self.timeout:g} s "
                                      f"({tries} {'try' if tries == 1 else 'tries'})")

    def _receive(self, sock: socket.socket, cookie: bytes, command: str) -> Any:
        """The decoded answer carrying ``cookie``, or None once ``timeout`` passed."""
        deadline = time.monotonic() + self.timeout
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data = sock.recv(MAX_DATAGRAM)
            except TimeoutError:
                return None
            got, space, body = data.partition(b" ")
            if got != cookie or not space:
                log.debug("ng: ignoring a datagram for another cookie: %r", data[:40])
                continue
            try:
                return decode(body)
            except BencodeError as exc:
                raise NgProtocolError(f"undecodable answer to {command}: {exc}") from exc
        return None

    # Commands ---------------------------------------------------------------------------
    def ping(self) -> None:
        """``ping``: raise unless rtpengine answers "pong"."""
        reply = self.request("ping")
        if reply.get("result") != "pong":
            raise NgProtocolError(f"ping answered {reply!r:.200}")

    def list_calls(self, limit: int = 32) -> list[str]:
        """``list``: call-ids of active calls, at most ``limit``."""
        calls = self.request("list", {"limit": limit}).get("calls", [])
        if not isinstance(calls, list):
            raise NgProtocolError(f"list answered calls={calls!r:.200}")
        return [c if isinstance(c, str) else c.decode(errors="replace") for c in calls]

    def query(self, call_id: str, from_tag: str | None = None) -> dict[str, Any]:
        """``query``: a call's legs ("tags"), streams and packet counters."""
        params: dict[str, Any] = {"call-id": call_id}
        if from_tag is not None:
            params["from-tag"] = from_tag
        return self.request("query", params)

    def statistics(self) -> dict[str, Any]:
        """``statistics``: the ``statistics`` dictionary ("currentstatistics" with
        "sessionsown" etc., "totalstatistics" with "uptime" ...)."""
        stats = self.request("statistics").get("statistics")
        if not isinstance(stats, dict):
            raise NgProtocolError(f"statistics answered {stats!r:.200}")
        return stats

    def delete(self, call_id: str, from_tag: str | None = None,
               to_tag: str | None = None) -> dict[str, Any]:
        """``delete``: end a call (or one leg). An unknown call is no error: the answer
        is ok with a ``warning``."""
        params: dict[str, Any] = {"call-id": call_id}
        if from_tag is not None:
            params["from-tag"] = from_tag
        if to_tag is not None:
            params["to-tag"] = to_tag
        return self.request("delete", params)


def _checked(command: str, reply: Any) -> dict[str, Any]:
    if not isinstance(reply, dict):
        raise NgProtocolError(f"answer to {command} is not a dictionary: {reply!r:.200}")
    result = reply.get("result")
    if result == "error":
        reason = reply.get("error-reason", "no error-reason given")
        raise NgFailure(reason if isinstance(reason, str) else repr(reason), command)
    if result not in ("ok", "pong"):
        raise NgProtocolError(f"answer to {command} has result {result!r:.100}")
    return reply
