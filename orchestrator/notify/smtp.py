"""Sending one email over SMTP with the stored settings (orchestrator.notify.config).

Failures come out as ``SmtpError`` with a message an operator can act on ("connection
refused by mail.example.com:587", "authentication failed: 535 ..."), never a bare
tuple of smtplib's.

TLS (``starttls`` or ``tls``) checks the server's certificate against the system's
trusted authorities (``SSL_CERT_FILE`` names another bundle), and its host name.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr

from orchestrator.notify.config import SmtpConfig


class NotConfigured(RuntimeError):
    """The channel has no server/gateway set: nothing can be sent (not retried)."""


class SmtpError(RuntimeError):
    """The server could not be reached, or refused the login or the message."""


def build_message(config: SmtpConfig, to: str, subject: str, body: str,
                  attachment: tuple[str, str, bytes] | None = None) -> EmailMessage:
    """A plain-text email; ``attachment`` = (file name, MIME type, content)."""
    message = EmailMessage()
    message["From"] = config.from_address
    message["To"] = to
    message["Subject"] = subject
    domain = parseaddr(config.from_address)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(body)
    if attachment is not None:
        filename, mimetype, content = attachment
        maintype, _, subtype = mimetype.partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype or "octet-stream",
                               filename=filename)
    return message


def _answer(code: int, text: bytes | str) -> str:
    reply = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(reply.split())}".strip()


def explain(exc: BaseException, config: SmtpConfig) -> str:
    """One clear sentence for a failed send (what happened, and where)."""
    where = f"{config.host}:{config.port}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return (f"authentication failed at {where}: the server answered "
                f"{_answer(exc.smtp_code, exc.smtp_error)} (check the username and password)")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return (f"{where} does not support this: {exc} (with a username, choose security "
                "starttls or tls if the server offers login only over TLS)")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = "; ".join(f"{rcpt}: {_answer(code, text)}"
                            for rcpt, (code, text) in exc.recipients.items())
        return f"recipient refused by {where}: {refused}"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return (f"sender {config.from_address} refused by {where}: "
                f"{_answer(exc.smtp_code, exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{where} refused the message: {_answer(exc.smtp_code, exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"{where} closed the connection: {exc or 'no reason given'}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"the TLS certificate of {where} is not trusted: "
                f"{exc.verify_message or exc.reason} (a private CA must be trusted by "
                "the system, or named by SSL_CERT_FILE)")
    if isinstance(exc, ssl.SSLError):
        return (f"TLS failed with {where}: {exc.reason or exc} (is the security right? "
                "tls for implicit TLS, usually port 465; starttls, usually port 587)")
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused by {where} (is the SMTP server running on that port?)"
    if isinstance(exc, socket.gaierror):
        return f"host {config.host} not found: {exc.strerror or exc}"
    if isinstance(exc, TimeoutError):
        return f"no answer from {where} within {config.timeout_seconds} s"
    if isinstance(exc, smtplib.SMTPException):
        return f"SMTP error with {where}: {exc}"
    if isinstance(exc, OSError):
        return f"cannot reach {where}: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


def send(config: SmtpConfig, message: EmailMessage) -> None:
    """Send it; raises ``NotConfigured`` or ``SmtpError`` (with a clear message)."""
    if not config.host:
        raise NotConfigured("SMTP is not configured: set the SMTP host in Settings -> "
                            "Email (or PUT /api/v1/settings/smtp)")
    try:
        _send(config, message)
    except (smtplib.SMTPException, OSError) as exc:
        raise SmtpError(explain(exc, config)) from exc


def _send(config: SmtpConfig, message: EmailMessage) -> None:
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
