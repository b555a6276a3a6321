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

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.errors import Conflict, NotFound, ValidationFailed
from orchestrator.listing import Page, like_pattern
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


def list_messages(session: Session, actor: Actor, *, q: str = "", channel: str = "",
                  status: str = "", purpose: str = "", customer_id: int | None = None,
                  page: int = 1, per_page: int = 50) -> Page[Message]:
    """Newest first; ``q`` matches recipient, subject or text (case-insensitive)."""
    actor.require("read")
    for name, value, allowed in (("channel", channel, CHANNELS),
                                 ("status", status, MESSAGE_STATUSES),
                                 ("purpose", purpose, PURPOSES)):
        if value and value not in allowed:
            raise ValidationFailed.one(name, f"must be one of: {', '.join(allowed)}")
    if page < 1 or not 1 <= per_page <= 500:
        raise ValidationFailed.one("page", "page >= 1 and per_page 1-500")
    stmt = select(Message)
    if q:
        like = like_pattern(q.lower())
        stmt = stmt.where(or_(func.lower(Message.recipient).like(like, escape="\\"),
                              func.lower(Message.subject).like(like, escape="\\"),
                              func.lower(Message.body).like(like, escape="\\")))
    if channel:
        stmt = stmt.where(Message.channel == channel)
    if status:
        stmt = stmt.where(Message.status == status)
    if purpose:
        stmt = stmt.where(Message.purpose == purpose)
    if customer_id is not None:
        stmt = stmt.where(Message.customer_id == customer_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(session.scalars(stmt.order_by(Message.id.desc())
                                .limit(per_page).offset((page - 1) * per_page)))
    return Page(rows, int(total), page, per_page)
