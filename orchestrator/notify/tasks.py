"""Background jobs of notifications: ``notify.deliver`` sends one message (outbox.py)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

# The credit push job lives with the credit code; importing it here registers it in
# the worker, which loads every ``orchestrator.<domain>.tasks`` module.
from orchestrator import secrets
from orchestrator.billing import credit  # noqa: F401
from orchestrator.db.types import utcnow
from orchestrator.errors import ServiceError
from orchestrator.jobs.queue import JobContext, RetryLater, job_task
from orchestrator.notify import attachments, config, sms, smtp
from orchestrator.notify.models import Message

logger = logging.getLogger(__name__)

# What a failed attempt raises: retried (a server down, a gateway error). Anything
# else (a bug) fails the job at once, and the message says so.
DELIVERY_ERRORS = (smtp.SmtpError, sms.SmsError, OSError)


class DeliveryFailed(ServiceError):
    """Every attempt failed (or the channel is not configured)."""


def retry_delay(base: float, attempts: int) -> float:
    """Seconds to wait after ``attempts`` failed attempts: base, 2 base, 4 base..."""
    return float(base * 2 ** max(0, attempts - 1))


def _attempt(ctx: JobContext, message_id: int) -> tuple[str, str, str]:
    """Send once: (channel, recipient, "" or the error of this attempt). An error
    starting with "!" is not worth retrying (nothing configured)."""
    with ctx.sessions.begin() as session:
        message = session.get(Message, message_id)
        if message is None:
            raise DeliveryFailed(f"message {message_id} does not exist")
        channel, recipient = message.channel, message.recipient
        if message.status == "sent":
            return channel, recipient, ""
        if channel == "email":
            try:
                attachment = (attachments.resolve(session, message.attachment)
                              if message.attachment else None)
            except Exception as exc:  # reported on the message, not retried
                name = (message.attachment or {}).get("filename") or "the attachment"
                return channel, recipient, f"!{name} could not be made: {exc}"
            try:
                smtp_config = config.smtp_config(session, ctx.settings)
            except secrets.SecretKeyError as exc:
                return channel, recipient, f"!{exc}"
            email = smtp.build_message(smtp_config, recipient, message.subject,
                                       message.body, attachment)
        else:
            try:
                sms_config = config.sms_config(session)
            except secrets.SecretKeyError as exc:
                return channel, recipient, f"!{exc}"
            text = message.body
    ctx.report(10, f"sending {channel} to {recipient}")
    try:
        if channel == "email":
            smtp.send(smtp_config, email)
        else:
            sms.send(sms_config, recipient, text)
    except smtp.NotConfigured as exc:
        return channel, recipient, f"!{exc}"
    except DELIVERY_ERRORS as exc:
        return channel, recipient, str(exc) or type(exc).__name__
    return channel, recipient, ""


@job_task("notify.deliver")
def deliver_job(ctx: JobContext) -> dict[str, Any]:
    """params: ``message_id``. One attempt per run; a failure schedules the next."""
    message_id = int(ctx.params["message_id"])
    try:
        channel, recipient, error = _attempt(ctx, message_id)
    except DeliveryFailed:
        raise
    except Exception as exc:  # a bug: the message says so instead of staying queued
        logger.exception("message %s: delivery attempt failed unexpectedly", message_id)
        channel, recipient, error = "message", str(message_id), f"!{type(exc).__name__}: {exc}"
    final = error.startswith("!")
    error = error.lstrip("!")
    with ctx.sessions.begin() as session:
        row = session.get(Message, message_id)
        if row is None:
            raise DeliveryFailed(f"message {message_id} does not exist")
        if row.status == "sent":
            return {"message_id": message_id, "status": "sent", "attempts": row.attempts}
        row.attempts += 1
        if not error:
            row.status, row.sent_at, row.last_error = "sent", utcnow(), ""
            row.next_attempt_at = None
            return {"message_id": message_id, "status": "sent", "to": row.recipient,
                    "attempts": row.attempts}
        row.last_error = error[:2000]
        if final or row.attempts >= ctx.settings.notify_attempts:
            row.status, row.next_attempt_at = "failed", None
            attempts = row.attempts
        else:
            delay = retry_delay(ctx.settings.notify_retry_seconds, row.attempts)
            row.status = "retrying"
            row.next_attempt_at = utcnow() + timedelta(seconds=delay)
            attempts = row.attempts
    if final or attempts >= ctx.settings.notify_attempts:
        raise DeliveryFailed(f"{channel} to {recipient} not delivered after "
                             f"{attempts} attempt{'s' if attempts > 1 else ''}: {error}")
    raise RetryLater(delay, f"attempt {attempts} of {ctx.settings.notify_attempts} failed "
                     f"({error}); next in {delay:g} s")
