"""A real SMTP server (aiosmtpd) in the test process, and a real HTTP SMS gateway.

    with smtp_server() as inbox:           # inbox.port, inbox.messages, inbox.wait(n)
        ...
    with sms_gateway() as gateway:         # gateway.url, gateway.requests, wait(n)
        gateway.status = 500               # answer errors from now on
"""

from __future__ import annotations

import email
import email.policy
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.ports import free_port


class Inbox:
    """What the SMTP server received (parsed with the modern policy: EmailMessage)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def wait(self, count: int, timeout: float = 15.0) -> list[EmailMessage]:
        """The messages once ``count`` have arrived (or whatever came by the timeout)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


def body_text(message: EmailMessage) -> str:
    """The plain-text body of a (possibly multipart) message."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "no text/plain part"
    return str(part.get_content())


def attachments(message: EmailMessage) -> list[tuple[str, bytes]]:
    """(file name, content) of each attachment."""
    out = []
    for part in message.iter_attachments():
        content = part.get_content()
        out.append((part.get_filename() or "",
                    content if isinstance(content, bytes) else str(content).encode()))
    return out


@contextmanager
def smtp_server(**controller_options: Any) -> Iterator[Inbox]:
    """An aiosmtpd server on a free loopback port (``controller_options``: e.g.
    ``authenticator``, ``auth_require_tls``, ``tls_context``, ``require_starttls``)."""
    inbox = Inbox()
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port,
                            **controller_options)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@dataclass
class GatewayRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class SmsGateway:
    """A local HTTP server playing an SMS gateway; answers ``status`` with ``answer``."""

    url: str = ""
    status: int = 200
    answer: str = '{"sid": "SM1", "status": "queued"}'
    requests: list[GatewayRequest] = field(default_factory=list)

    def wait(self, count: int, timeout: float = 15.0) -> list[GatewayRequest]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.requests


@contextmanager
def sms_gateway() -> Iterator[SmsGateway]:
    """``gateway.url`` is ``http://127.0.0.1:<port>``; every request is recorded."""
    gateway = SmsGateway()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            gateway.requests.append(GatewayRequest(self.command, self.path,
                                                   dict(self.headers.items()), body))
            payload = gateway.answer.encode()
            self.send_response(gateway.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    gateway.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="sms-gateway", daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
