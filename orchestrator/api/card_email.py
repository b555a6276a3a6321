"""Email a customer card: ``POST /customer-cards/{id}/email``, its history
``GET /customer-cards/{id}/emails`` and the bulk send ``POST /customer-cards/email-bulk``
(each customer the cards of its routes, a job). On ``orchestrator.ratecards.card_email``.
"""

from __future__ import annotations

from typing import Any

from apiflask import Schema, fields
from apiflask.validators import Length, OneOf, Range

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import resource_blueprint
from orchestrator.api.fields import UtcDateTime
from orchestrator.api.jobs import JobOut
from orchestrator.api.listing import envelope, page_of
from orchestrator.jobs.models import Job
from orchestrator.listing import MAX_PER_PAGE
from orchestrator.notify.models import MESSAGE_STATUSES
from orchestrator.ratecards import card_email, card_email_bulk

bp = resource_blueprint("api_card_email", "Customer rate cards")
ACCEPTED = 202
CHANGES_DOC = ("counts `new`, `increase`, `decrease`, `unchanged`, `closed` against the "
               "card last sent to the address; `first`: nothing was sent to it before; "
               "`since_revision`: the number of the revision sent before")


class CardEmailIn(Schema):
    addresses = fields.List(fields.String(validate=Length(max=320)), required=True,
                            validate=Length(max=1000), metadata={
                                "description": "1-20 email addresses (lower-cased, each "
                                "once)", "example": ["rates@customer.example"]})
    format = fields.String(required=True, validate=OneOf(card_email.FORMATS), metadata={
        "description": "the attachment: CSV or XLSX"})


class CardEmailOut(Schema):
    id = fields.Integer(required=True)
    card_id = fields.Integer(required=True)
    address = fields.String(required=True)
    format = fields.String(required=True, metadata={"enum": list(card_email.FORMATS)})
    revision_id = fields.Integer(required=True, allow_none=True)
    revision_number = fields.Integer(required=True, allow_none=True)
    changes = fields.Dict(required=True, metadata={"description": CHANGES_DOC})
    message_id = fields.Integer(required=True, allow_none=True, metadata={
        "description": "the outbox message that carries it"})
    status = fields.String(required=True, metadata={
        "enum": [*MESSAGE_STATUSES, "unknown"], "description": "delivery status of the "
        "message (retried with backoff until sent or failed)"})
    last_error = fields.String(required=True)
    sent_at = UtcDateTime(required=True, allow_none=True)
    created_by = fields.String(required=True)
    created_at = UtcDateTime(required=True)


class CardEmailSendOut(Schema):
    card_id = fields.Integer(required=True)
    format = fields.String(required=True)
    sends = fields.List(fields.Nested(CardEmailOut), required=True)


class HistoryArgs(Schema):
    page = fields.Integer(load_default=1, validate=Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=Range(min=1, max=MAX_PER_PAGE))


class PreviewArgs(Schema):
    address = fields.String(required=True, validate=Length(max=320), metadata={
        "description": "the address the summary is for"})
    format = fields.String(load_default="csv", validate=OneOf(card_email.FORMATS))


class PreviewOut(Schema):
    address = fields.String(required=True)
    subject = fields.String(required=True)
    body = fields.String(required=True, metadata={"description": "the plain-text body"})
    changes = fields.Dict(required=True, metadata={"description": CHANGES_DOC})
    filename = fields.String(required=True, metadata={"description": "of the attachment"})
    revision_id = fields.Integer(required=True)
    revision_number = fields.Integer(required=True)


class BulkIn(Schema):
    format = fields.String(required=True, validate=OneOf(card_email.FORMATS))
    customer_ids = fields.List(fields.Integer(validate=Range(min=1, max=2**31 - 1)),
                               validate=Length(min=1, max=card_email_bulk.MAX_CUSTOMERS),
                               metadata={"description": "only these customers (default: "
                                         "every customer)"})


@bp.post("/customer-cards/<int:card_id>/email")
@api_auth("write")
@bp.input(CardEmailIn, arg_name="body")
@bp.output(CardEmailSendOut, status_code=ACCEPTED)
@bp.doc(summary="Email the card", description="Queues one email per address with the "
        "active revision attached (CSV or XLSX) and, in the body, the changes since the "
        "card last sent to that address. Answers 202: delivery is a background job "
        "(retried with backoff); each send's `status` follows it. 422 names the bad "
        "field (`addresses`, `format`, or `card` without an active revision); nothing "
        "is queued then.")
def send(ctx: ApiContext, card_id: int, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    rows = card_email.email_card(ctx.db, ctx.actor, card_id, body["addresses"],
                                 body["format"])
    return {"card_id": card_id, "format": body["format"],
            "sends": card_email.sends_to_dicts(ctx.db, rows)}, ACCEPTED


@bp.get("/customer-cards/<int:card_id>/email/preview")
@api_auth("read")
@bp.input(PreviewArgs, location="query", arg_name="args")
@bp.output(PreviewOut)
@bp.doc(summary="Preview the email to an address", description="The subject, body and "
        "attachment name that `POST .../email` would send to `address` now; nothing is "
        "sent or recorded.")
def preview(ctx: ApiContext, card_id: int, args: dict[str, Any]) -> dict[str, Any]:
    return card_email.preview(ctx.db, ctx.actor, card_id, args["address"], args["format"])


@bp.post("/customer-cards/email-bulk")
@api_auth("write")
@bp.input(BulkIn, arg_name="body")
@bp.output(JobOut, status_code=ACCEPTED)
@bp.doc(summary="Email each customer the cards of its routes", description="One email "
        "per distinct customer card of the customer's ingress routes, to the customer's "
        "email address. Answers 202 with the job; its result lists what was `sent` and "
        "what was `skipped` (no email address, no route, no active revision).",
        responses={404: "A customer of `customer_ids` does not exist"})
def bulk(ctx: ApiContext, body: dict[str, Any]) -> tuple[Job, int]:
    return card_email_bulk.start_bulk(ctx.db, ctx.actor, body["format"],
                                      body.get("customer_ids")), ACCEPTED


@bp.get("/customer-cards/<int:card_id>/emails")
@api_auth("read")
@bp.input(HistoryArgs, location="query", arg_name="args")
@bp.output(page_of(CardEmailOut))
@bp.doc(summary="Emails of the card", description="Every send, newest first, with the "
        "delivery status of its message.")
def history(ctx: ApiContext, card_id: int, args: dict[str, Any]) -> dict[str, Any]:
    return envelope(card_email.list_card_emails(ctx.db, ctx.actor, card_id,
                                                page=args["page"],
                                                per_page=args["per_page"]))
