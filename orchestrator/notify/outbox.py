"""The outbox: every email and SMS is a ``messages`` row delivered by a background job.

``queue_email`` / ``queue_sms`` add the row and a ``notify.deliver`` job in the
caller's transaction (nothing is sent if it rolls back). The job tries, and on failure
tries again after ``notify_retry_seconds``, doubling the wait each time, until
``notify_attempts`` attempts have failed: then the message is ``failed`` with the last
error, and so is the job. ``retry`` sends a failed message again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.errors import Conflict, NotFound, ValidationFailed
from orchestrator.listing import ListQuery, Page, paginate
from orchestrator.notify.models import CHANNELS, MESSAGE_STATUSES, PURPOSES, Message

MAX_SUBJECT = 255


def _iso(moment: datetime | None) -> str | None:
    from orchestrator.customers.service import iso

    return iso(moment)


def message_to_dict(message: Message) -> dict[str, Any]:
    return {
        "id": message.id, "channel": message.channel, "recipient": message.recipient,
        "subject": message.subject, "body": message.body,
        "attachment": (message.attachment or {}).get("filename"),
        "purpose": message.purpose, "customer_id": message.customer_id,
        "status": message.status, "attempts": message.attempts,
        "last_error": message.last_error, "job_id": message.job_id,
        "created_by": message.created_by, "created_at": _iso(message.created_at),
        "next_attempt_at": _iso(message.next_attempt_at), "sent_at": _iso(message.sent_at),
    }


def _queue(session: Session, actor: Actor, message: Message) -> Message:
    from orchestrator.notify.tasks import deliver_job

    if message.purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {message.purpose!r}")
    message.created_by = actor.username[:64]
    message.status, message.attempts, message.last_error = "queued", 0, ""
    session.add(message)
    session.flush()
    job = deliver_job.enqueue(actor, {"message_id": message.id}, session=session)
    message.job_id = job.id
    session.flush()
    return message


def queue_email(session: Session, actor: Actor, to: str, subject: str, body: str, *,
                purpose: str = "other", customer_id: int | None = None,
                attachment: dict[str, Any] | None = None) -> Message:
    """An email to one address, sent by a job once the caller's transaction commits.

    ``attachment``: ``{"kind": <resolver>, "filename": ..., ...}`` (notify.attachments).
    """
    if not to:
        raise ValidationFailed.one("to", "no recipient address")
    return _queue(session, actor, Message(
        channel="email", recipient=to, subject=subject[:MAX_SUBJECT], body=body,
        attachment=attachment, purpose=purpose, customer_id=customer_id))


def queue_sms(session: Session, actor: Actor, to: str, text: str, *,
              purpose: str = "other", customer_id: int | None = None) -> Message:
    """An SMS to one E.164 number, sent by a job once the caller's transaction commits."""
    if not to:
        raise ValidationFailed.one("to", "no recipient number")
    return _queue(session, actor, Message(channel="sms", recipient=to, body=text,
                                          purpose=purpose, customer_id=customer_id))


def get_message(session: Session, actor: Actor, message_id: int) -> Message:
    actor.require("read")
    message = session.get(Message, message_id)
    if message is None:
        raise NotFound("message", message_id)
    return message


def retry(session: Session, actor: Actor, message_id: int) -> Message:
    """Send a failed message again (a new job, attempts counted from zero)."""
    actor.require("write")
    message = get_message(session, actor, message_id)
    if message.status != "failed":
        raise Conflict("status", f"message {message_id} is {message.status}: only a failed "
                       "message can be sent again")
    message.next_attempt_at = None
    return _queue(session, actor, message)


SORTABLE = {"id": Message.id, "created_at": Message.created_at, "status": Message.status,
            "channel": Message.channel, "recipient": Message.recipient,
            "purpose": Message.purpose, "attempts": Message.attempts,
            "sent_at": Message.sent_at}


def list_messages(session: Session, actor: Actor, query: ListQuery | None = None, *,
                  channel: str = "", status: str = "", purpose: str = "",
                  customer_id: int | None = None) -> Page[Message]:
    """Newest first unless sorted otherwise; ``q`` matches recipient, subject or text
    (case-insensitive); the filters are exact."""
    actor.require("read")
    query = query or ListQuery(sort="-id")
    errors: dict[str, list[str]] = {}
    for name, value, allowed in (("channel", channel, CHANNELS),
                                 ("status", status, MESSAGE_STATUSES),
                                 ("purpose", purpose, PURPOSES)):
        if value and value not in allowed:
            errors[name] = [f"must be one of: {', '.join(allowed)}"]
    if errors:
        raise ValidationFailed(errors)
    stmt = select(Message)
    if channel:
        stmt = stmt.where(Message.channel == channel)
    if status:
        stmt = stmt.where(Message.status == status)
    if purpose:
        stmt = stmt.where(Message.purpose == purpose)
    if customer_id is not None:
        stmt = stmt.where(Message.customer_id == customer_id)
    return paginate(session, stmt, query, [Message.recipient, Message.subject, Message.body],
                    SORTABLE, "-id")
