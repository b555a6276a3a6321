"""The "send test email / SMS" buttons: ONE message, sent now with the saved settings.

No job and no retry: the admin sees at once whether the settings work, or the exact
error (connection refused, authentication failed, the gateway's answer). The message
is logged like every other (purpose ``test``, status ``sent`` or ``failed``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from orchestrator import secrets
from orchestrator.actor import Actor
from orchestrator.customers.validation import BadValue, email, mobile
from orchestrator.db.types import utcnow
from orchestrator.errors import ValidationFailed
from orchestrator.notify import config, sms, smtp
from orchestrator.notify.models import Message
from orchestrator.settings import Settings

TEST_SUBJECT = "Test email from the switch"
TEST_EMAIL_BODY = ("This is a test email sent from the Settings page of the switch's "
                   "control plane.\n\nIf you can read it, email delivery works.\n")
TEST_SMS_TEXT = "Test SMS from the switch: SMS delivery works."


@dataclass(frozen=True)
class SendResult:
    sent: bool
    error: str
    message: Message


def _recipient(value: object, parse: Callable[[Any], Any], what: str) -> str:
    try:
        found = str(parse(value))
    except BadValue as exc:
        raise ValidationFailed.one("to", str(exc)) from None
    if not found:
        raise ValidationFailed.one("to", f"is required: the {what} to send the test to")
    return found


def _log(session: Session, actor: Actor, message: Message, error: str) -> SendResult:
    message.purpose, message.attempts = "test", 1
    message.created_by = actor.username[:64]
    if error:
        message.status, message.last_error = "failed", error[:2000]
    else:
        message.status, message.sent_at = "sent", utcnow()
    session.add(message)
    session.flush()
    return SendResult(not error, error, message)


def send_test_email(session: Session, actor: Actor, settings: Settings,
                    to: object) -> SendResult:
    """Send a test email to ``to`` now (admins only)."""
    actor.require("admin")
    address = _recipient(to, email, "email address")
    error = ""
    try:
        smtp_config = config.smtp_config(session, settings)
        smtp.send(smtp_config, smtp.build_message(smtp_config, address, TEST_SUBJECT,
                                                  TEST_EMAIL_BODY))
    except (smtp.NotConfigured, smtp.SmtpError, secrets.SecretKeyError) as exc:
        error = str(exc)
    return _log(session, actor, Message(channel="email", recipient=address,
                                        subject=TEST_SUBJECT, body=TEST_EMAIL_BODY), error)


def send_test_sms(session: Session, actor: Actor, to: object) -> SendResult:
    """Send a test SMS to ``to`` (E.164) now (admins only)."""
    actor.require("admin")
    number = _recipient(to, mobile, "mobile number (E.164)")
    error = ""
    try:
        sms.send(config.sms_config(session), number, TEST_SMS_TEXT)
    except (smtp.NotConfigured, sms.SmsError, secrets.SecretKeyError) as exc:
        error = str(exc)
    return _log(session, actor, Message(channel="sms", recipient=number, body=TEST_SMS_TEXT),
                error)
