"""/api/v1/messages: the log of every email and SMS the switch sends, and retrying one.

Thin over orchestrator.notify.outbox (docs/notifications.md).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from apiflask import Schema, fields
from apiflask.validators import OneOf, Range

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import resource_blueprint
from orchestrator.api.fields import UtcDateTime
from orchestrator.api.listing import ListArgs, envelope, list_query, page_of
from orchestrator.notify import outbox
from orchestrator.notify.models import CHANNELS, MESSAGE_STATUSES, PURPOSES, Message

bp = resource_blueprint("api_messages", "Messages")


class MessageOut(Schema):
    id = fields.Integer(required=True)
    channel = fields.String(required=True, metadata={"enum": list(CHANNELS)})
    recipient = fields.String(required=True, metadata={"description": "email address or "
                                                       "E.164 number"})
    subject = fields.String(required=True, metadata={"description": "email only"})
    body = fields.String(required=True, metadata={"description": "plain text (SMS: the "
                                                  "text)"})
    attachment = fields.Function(
        lambda m: (m.attachment or {}).get("filename") if m.attachment else None,
        required=True, allow_none=True,
        metadata={"type": "string", "nullable": True,
                  "description": "file name of the attachment, made when sent"})
    purpose = fields.String(required=True, metadata={"enum": list(PURPOSES)})
    customer_id = fields.Integer(required=True, allow_none=True)
    status = fields.String(required=True, metadata={
        "enum": list(MESSAGE_STATUSES), "description": "queued: waiting for its first "
        "attempt; retrying: an attempt failed, the next is at next_attempt_at; sent; "
        "failed: every attempt failed (last_error says why)"})
    attempts = fields.Integer(required=True)
    last_error = fields.String(required=True)
    job_id = fields.Integer(required=True, allow_none=True, metadata={
        "description": "the delivery job (GET /api/v1/jobs/{id})"})
    created_by = fields.String(required=True)
    created_at = UtcDateTime(required=True)
    next_attempt_at = UtcDateTime(required=True, allow_none=True)
    sent_at = UtcDateTime(required=True, allow_none=True)


class MessageRowOut(MessageOut):
    """A list item (its own class: the list's path is documented before the message's)."""


class MessageListArgs(ListArgs):
    channel = fields.String(validate=OneOf(CHANNELS))
    status = fields.String(validate=OneOf(MESSAGE_STATUSES))
    purpose = fields.String(validate=OneOf(PURPOSES))
    customer_id = fields.Integer(validate=Range(min=1))


@bp.get("/messages/<int:message_id>")
@api_auth("read")
@bp.output(MessageOut)
@bp.doc(summary="Get a message", description="With its text and its last error.")
def get_message(ctx: ApiContext, message_id: int) -> Message:
    return outbox.get_message(ctx.db, ctx.actor, message_id)


@bp.post("/messages/<int:message_id>/retry")
@api_auth("write")
@bp.output(MessageOut, status_code=202)
@bp.doc(summary="Send a failed message again", description="A new delivery job with "
        "`notify_attempts` attempts; the message is `queued` again.",
        responses={409: "The message is not failed"})
def retry_message(ctx: ApiContext, message_id: int) -> Message:
    return outbox.retry(ctx.db, ctx.actor, message_id)


@bp.get("/messages")
@api_auth("read")
@bp.input(MessageListArgs, location="query", arg_name="args")
@bp.output(page_of(MessageRowOut))
@bp.doc(summary="List messages", description="Every email and SMS, newest first. `q` "
        "searches recipient, subject and text; filter by `channel`, `status`, `purpose`, "
        "`customer_id`; sort by " + ", ".join(outbox.SORTABLE) + ".")
def list_messages(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    query = list_query(args)
    if not query.sort:
        query = replace(query, sort="-id")
    return envelope(outbox.list_messages(
        ctx.db, ctx.actor, query, channel=args.get("channel", ""),
        status=args.get("status", ""), purpose=args.get("purpose", ""),
        customer_id=args.get("customer_id")))
