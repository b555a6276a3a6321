"""A minimal email sender: plain SMTP to ``settings.smtp_host`` (no TLS, no login).

The next issue brings full SMTP settings (TLS, credentials) and delivery tracking; until
then this is what the low-balance alert job (``orchestrator/notify/tasks.py``) uses.
With ``smtp_host`` empty nothing is sent: the message is logged.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from orchestrator.settings import Settings

log = logging.getLogger(__name__)

SMTP_TIMEOUT = 30.0


def build_message(settings: Settings, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


def send_email(settings: Settings, to: str, subject: str, body: str) -> bool:
    """Send one plain-text email; False when no SMTP host is configured (logged only).

    SMTP errors are raised (``smtplib.SMTPException`` / ``OSError``): the job fails and
    says why."""
    if not to:
        raise ValueError("no recipient address")
    message = build_message(settings, to, subject, body)
    if not settings.smtp_host:
        log.info("smtp_host is empty: email to %s not sent: %s", to, subject)
        return False
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT) as smtp:
        smtp.send_message(message)
    return True
