"""Sending one email over SMTP with the stored settings (orchestrator.notify.config)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from orchestrator.notify.config import SmtpConfig


class NotConfigured(RuntimeError):
    """The channel has no server/gateway set: nothing can be sent (not retried)."""


def build_message(config: SmtpConfig, to: str, subject: str, body: str,
                  attachment: tuple[str, str, bytes] | None = None) -> EmailMessage:
    """A plain-text email; ``attachment`` = (file name, MIME type, content)."""
    message = EmailMessage()
    message["From"] = config.from_address
    message["To"] = to
    message["Subject"] = subject
    domain = config.from_address.rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(body)
    if attachment is not None:
        filename, mimetype, content = attachment
        maintype, _, subtype = mimetype.partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype or "octet-stream",
                               filename=filename)
    return message


def send(config: SmtpConfig, message: EmailMessage) -> None:
    """Send it; raises ``NotConfigured``, ``smtplib.SMTPException`` or ``OSError``."""
    if not config.host:
        raise NotConfigured("SMTP is not configured: set the SMTP host in Settings -> "
                            "Email (or PUT /api/v1/settings/smtp)")
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if config.security == "tls":
        client = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout_seconds,
                                  context=context)
    else:
        client = smtplib.SMTP(config.host, config.port, timeout=config.timeout_seconds)
    with client:
        if config.security == "starttls":
            client.starttls(context=context)
        if config.username:
            client.login(config.username, config.password)
        client.send_message(message)
