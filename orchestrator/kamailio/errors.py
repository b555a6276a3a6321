"""Typed errors of the Kamailio JSON-RPC client."""

from __future__ import annotations


class KamailioError(RuntimeError):
    """Base of every error of the Kamailio RPC client."""


class KamailioConnectionError(KamailioError):
    """Kamailio could not be reached: refused, unreachable or no answer in time.

    ``reason`` is short ("connection refused", "no answer within 2.0 s"); the message
    adds the URL.
    """

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"Kamailio at {url}: {reason}")
        self.url = url
        self.reason = reason


class KamailioProtocolError(KamailioError):
    """Kamailio answered something that is not a JSON-RPC 2.0 response."""


class KamailioFault(KamailioError):
    """Kamailio answered with a JSON-RPC error object (``code``, ``message``)."""

    def __init__(self, code: int, message: str, method: str | None = None) -> None:
        where = f"{method}: " if method else ""
        super().__init__(f"{where}fault {code}: {message}")
        self.code = code
        self.message = message
        self.method = method


class KamailioReloadBusy(KamailioFault):
    """A reload refused because one is running or came within ``reload_delta``.

    dispatcher answers "Ongoing reload"; dialplan and permissions "ongoing reload"
    (Kamailio 5.6, fault code 500). Raised once the client's retries are used up.
    """
