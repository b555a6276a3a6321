"""Email and mobile verification (docs/verification.md): customers and your own account.

Thin over orchestrator.verification. A wrong code is counted even though the answer
is an error: the attempt is committed before the 422 goes out.
"""

from __future__ import annotations

from typing import Any

from apiflask import Schema, fields

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import resource_blueprint
from orchestrator.verification import codes, pending, subjects
from orchestrator.verification.models import CHANNELS
from orchestrator.verification.subjects import Subject

bp = resource_blueprint("api_verification", "Verification")

ACCEPTED = 202
CHANNEL_DOC = "`email` or `mobile`"
TIME = {"type": "string", "format": "date-time", "nullable": True}


class CodeIn(Schema):
    code = fields.String(required=True, metadata={
        "description": "the 6 digits of the email or SMS", "example": "123456"})


class ResetIn(Schema):
    email = fields.Boolean(load_default=False, metadata={
        "description": "the email becomes unverified"})
    mobile = fields.Boolean(load_default=False, metadata={
        "description": "the mobile becomes unverified"})


class SentOut(Schema):
    channel = fields.String(required=True, metadata={"enum": list(CHANNELS)})
    target = fields.String(required=True, metadata={
        "description": "the address or E.164 number the code goes to"})
    expires_at = fields.String(required=True, metadata={
        **TIME, "nullable": False, "description": "the code is refused after this"})
    resend_after = fields.String(required=True, metadata={
        **TIME, "nullable": False, "description": "no new code before this (429)"})
    message_id = fields.Integer(required=True, metadata={
        "description": "the queued message (GET /api/v1/messages/{id} shows its delivery)"})


class ChannelStateOut(Schema):
    target = fields.String(required=True, metadata={"description": "empty: none set"})
    verified = fields.Boolean(required=True)
    code_expires_at = fields.String(required=True, allow_none=True, metadata={
        **TIME, "description": "the pending code's expiry; null: no code pending"})
    attempts_left = fields.Integer(required=True, allow_none=True, metadata={
        "description": "entries left for the pending code; null: no code pending"})
    resend_after = fields.String(required=True, allow_none=True, metadata={
        **TIME, "description": "null: a code can be sent now"})
    resend_in_seconds = fields.Integer(required=True)


class ChannelsOut(Schema):
    email = fields.Nested(ChannelStateOut, required=True)
    mobile = fields.Nested(ChannelStateOut, required=True)


class ContactFields(Schema):
    email = fields.String(required=True)
    email_verified = fields.Boolean(required=True)
    mobile = fields.String(required=True, metadata={"description": "E.164"})
    mobile_verified = fields.Boolean(required=True)
    channels = fields.Nested(ChannelsOut, required=True)


class CustomerVerificationOut(ContactFields):
    customer_id = fields.Integer(required=True)
    name = fields.String(required=True)
    verification_required = fields.Boolean(required=True)
    needs_verification = fields.Boolean(required=True, metadata={
        "description": "verification_required and the email or mobile not verified: the "
        "switch refuses its calls (403 Verification Required) once applied"})


class AccountVerificationOut(ContactFields):
    user_id = fields.Integer(required=True)


class AccountItemOut(Schema):
    channel = fields.String(required=True, metadata={"enum": list(CHANNELS)})
    target = fields.String(required=True)
    label = fields.String(required=True)


class AccountNoticesOut(Schema):
    user_id = fields.Integer(required=True)
    username = fields.String(required=True)
    email = fields.String(required=True)
    email_verified = fields.Boolean(required=True)
    mobile = fields.String(required=True)
    mobile_verified = fields.Boolean(required=True)
    items = fields.List(fields.Nested(AccountItemOut), required=True, metadata={
        "description": "what your own account still needs verified"})


class CustomerNoticeOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    status = fields.String(required=True)
    email = fields.String(required=True)
    email_verified = fields.Boolean(required=True)
    mobile = fields.String(required=True)
    mobile_verified = fields.Boolean(required=True)


class CustomerNoticesOut(Schema):
    count = fields.Integer(required=True)
    items = fields.List(fields.Nested(CustomerNoticeOut), required=True, metadata={
        "description": "the first 50 by name"})


class NotificationsOut(Schema):
    count = fields.Integer(required=True, metadata={
        "description": "account items + customers awaiting verification"})
    account = fields.Nested(AccountNoticesOut, required=True)
    customers = fields.Nested(CustomerNoticesOut, required=True, metadata={
        "description": "customers with verification_required whose email or mobile is "
        "not verified"})


SEND_RESPONSES = {404: "No such customer", 409: "Already verified",
                  422: "No email/mobile set, or not email|mobile",
                  429: "A code was sent less than resend_seconds ago (Retry-After)"}
CHECK_RESPONSES = {404: "No such customer", 409: "Already verified",
                   422: "Wrong code (the attempt counts), expired, too many attempts, "
                   "or no code sent"}
SEND_DOC = ("Sends a 6-digit code to the {what}'s email or mobile (SMS), valid "
            "`code_minutes` (10), `max_attempts` entries (5); a new code replaces the "
            "previous ones and cannot be sent within `resend_seconds` (60) of it. The "
            "message is delivered by a job: `message_id`.")
CHECK_DOC = ("The code of the latest message sent to the current {what} email or mobile. "
             "A wrong code counts as an attempt (`errors.code` says how many are left).")


def _send(ctx: ApiContext, subject: Subject, channel: str) -> tuple[dict[str, Any], int]:
    return codes.send_code(ctx.db, ctx.actor, subject, channel).to_dict(), ACCEPTED


def _check(ctx: ApiContext, subject: Subject, channel: str, code: str) -> dict[str, Any]:
    result = codes.check_code(ctx.db, ctx.actor, subject, channel, code)
    ctx.db.commit()  # a wrong code's attempt is kept; the error answer rolls nothing back
    result.raise_error()
    return codes.state(ctx.db, ctx.actor, subject)


@bp.post("/customers/<int:customer_id>/verify/<any(email, mobile):channel>/send")
@api_auth("write")
@bp.output(SentOut, status_code=ACCEPTED)
@bp.doc(summary="Send a customer a verification code", description=SEND_DOC.format(
    what="customer"), responses=SEND_RESPONSES)
def send_customer_code(ctx: ApiContext, customer_id: int,
                       channel: str) -> tuple[dict[str, Any], int]:
    return _send(ctx, subjects.customer(customer_id), channel)


@bp.post("/customers/<int:customer_id>/verify/<any(email, mobile):channel>")
@api_auth("write")
@bp.input(CodeIn, arg_name="body")
@bp.output(CustomerVerificationOut)
@bp.doc(summary="Verify a customer's email or mobile with a code",
        description=CHECK_DOC.format(what="customer's") + " Once the customer is fully "
        "verified, apply the switch changes so that its calls are accepted.",
        responses=CHECK_RESPONSES)
def check_customer_code(ctx: ApiContext, customer_id: int, channel: str,
                        body: dict[str, Any]) -> dict[str, Any]:
    return _check(ctx, subjects.customer(customer_id), channel, body["code"])


@bp.post("/customers/<int:customer_id>/verify/reset")
@api_auth("write")
@bp.input(ResetIn, arg_name="body")
@bp.output(CustomerVerificationOut)
@bp.doc(summary="Reset a customer's verification",
        description="The chosen email and/or mobile become unverified and unused codes "
        "stop working. A customer with verification_required then has its calls refused "
        "once the switch changes are applied.",
        responses={404: "No such customer", 422: "Neither email nor mobile chosen"})
def reset_customer(ctx: ApiContext, customer_id: int, body: dict[str, Any]) -> dict[str, Any]:
    chosen = [c for c in CHANNELS if body.get(c)]
    codes.reset(ctx.db, ctx.actor, customer_id, chosen)
    return codes.state(ctx.db, ctx.actor, subjects.customer(customer_id))


@bp.get("/customers/<int:customer_id>/verification")
@api_auth("read")
@bp.output(CustomerVerificationOut)
@bp.doc(summary="A customer's verification state", description="Email and mobile, "
        "whether each is verified, and the pending code of each (expiry, attempts left, "
        "when a new one may be sent).", responses={404: "No such customer"})
def customer_state(ctx: ApiContext, customer_id: int) -> dict[str, Any]:
    return codes.state(ctx.db, ctx.actor, subjects.customer(customer_id))


@bp.get("/notifications")
@api_auth("read")
@bp.output(NotificationsOut)
@bp.doc(summary="What still needs verifying", description="Your own account's email and "
        "mobile until verified, and the customers with verification_required whose email "
        "or mobile is not verified (the web admin's notification menu).")
def notifications(ctx: ApiContext) -> dict[str, Any]:
    return pending.notifications(ctx.db, ctx.actor, ctx.user)


@bp.get("/account/verification")
@api_auth("read")
@bp.output(AccountVerificationOut)
@bp.doc(summary="Your account's verification state",
        description="Set your email and mobile in the web admin (Account page).")
def account_state(ctx: ApiContext) -> dict[str, Any]:
    return codes.state(ctx.db, ctx.actor, subjects.user(ctx.user.id))


@bp.post("/account/verify/<any(email, mobile):channel>/send")
@api_auth("read")
@bp.output(SentOut, status_code=ACCEPTED)
@bp.doc(summary="Send yourself a verification code",
        description=SEND_DOC.format(what="calling user") + " Any role may verify its own "
        "account.", responses={k: v for k, v in SEND_RESPONSES.items() if k != 404})
def send_account_code(ctx: ApiContext, channel: str) -> tuple[dict[str, Any], int]:
    return _send(ctx, subjects.user(ctx.user.id), channel)


@bp.post("/account/verify/<any(email, mobile):channel>")
@api_auth("read")
@bp.input(CodeIn, arg_name="body")
@bp.output(AccountVerificationOut)
@bp.doc(summary="Verify your email or mobile with a code",
        description=CHECK_DOC.format(what="calling user's"),
        responses={k: v for k, v in CHECK_RESPONSES.items() if k != 404})
def check_account_code(ctx: ApiContext, channel: str, body: dict[str, Any]) -> dict[str, Any]:
    return _check(ctx, subjects.user(ctx.user.id), channel, body["code"])
