"""/api/v1/settings/{smtp,sms,verification}: delivery settings, and the test buttons.

Thin over orchestrator.notify.config and orchestrator.notify.testsend
(docs/notifications.md). Reading needs the read role; changing and testing, admin.
Passwords are write-only: answers carry ``password_set``. In a PUT, fields left out
keep their value; ``password`` absent (or null) keeps it, ``""`` clears it.
"""

from __future__ import annotations

from typing import Any

from apiflask import Schema, fields
from apiflask.validators import Length

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import resource_blueprint
from orchestrator.notify import config, testsend
from webui.state import web_state

bp = resource_blueprint("api_notify_settings", "Settings")


def _text(description: str, limit: int = 2000) -> fields.String:
    return fields.String(validate=Length(max=limit), metadata={"description": description})


def _number(description: str) -> fields.Integer:
    return fields.Integer(metadata={"description": description})


def _password(description: str) -> fields.String:
    return fields.String(allow_none=True, load_only=True, validate=Length(max=500),
                         metadata={"description": description + "; write-only: absent or "
                                   "null keeps it, \"\" clears it"})


class SmtpIn(Schema):
    host = _text("SMTP server name or IP; empty turns email off", 255)
    port = _number("1-65535: 25, 587 (starttls), 465 (tls)")
    security = _text("none | starttls | tls (implicit TLS)", 20)
    username = _text("login; empty: no authentication", 254)
    password = _password("login password")
    from_address = _text("From of every email: switch@example.com or "
                         "Name <switch@example.com>", 254)
    timeout_seconds = _number("1-300")


class SmtpOut(Schema):
    host = fields.String(required=True)
    port = fields.Integer(required=True)
    security = fields.String(required=True, metadata={"enum": list(config.SECURITY)})
    username = fields.String(required=True)
    password_set = fields.Boolean(required=True, metadata={"description": "a password is "
                                                           "stored (it is never shown)"})
    from_address = fields.String(required=True)
    timeout_seconds = fields.Integer(required=True)


class SmsIn(Schema):
    preset = _text("custom | twilio: choosing twilio fills url, method, content_type, "
                   "body_template and auth unless the same request sets them", 20)
    url = _text("http(s) address of the gateway; may hold {to} {text} {from}; empty turns "
                "SMS off", 1000)
    method = _text("POST | GET", 10)
    content_type = _text("form (application/x-www-form-urlencoded) | json", 10)
    body_template = _text("the request body with {to}, {text} and {from}: URL-encoded "
                          "(form) or JSON-escaped (json) when sent")
    auth = _text("none | basic (username + password) | bearer (password = token)", 10)
    username = _text("basic auth user (Twilio: the Account SID)", 254)
    password = _password("basic auth password or bearer token (Twilio: the Auth Token)")
    sender = _text("{from}: the sender number or name", 32)
    timeout_seconds = _number("1-120")


class SmsOut(Schema):
    preset = fields.String(required=True, metadata={"enum": list(config.SMS_PRESETS)})
    url = fields.String(required=True)
    method = fields.String(required=True, metadata={"enum": list(config.SMS_METHODS)})
    content_type = fields.String(required=True,
                                 metadata={"enum": list(config.SMS_CONTENT_TYPES)})
    body_template = fields.String(required=True)
    auth = fields.String(required=True, metadata={"enum": list(config.SMS_AUTH)})
    username = fields.String(required=True)
    password_set = fields.Boolean(required=True)
    sender = fields.String(required=True)
    timeout_seconds = fields.Integer(required=True)


class VerificationIn(Schema):
    code_minutes = _number("how long a code is valid, 1-1440 minutes")
    max_attempts = _number("wrong entries allowed per code, 1-100")
    resend_seconds = _number("minimum wait before a new code, 0-3600 seconds")


class VerificationOut(Schema):
    code_minutes = fields.Integer(required=True)
    max_attempts = fields.Integer(required=True)
    resend_seconds = fields.Integer(required=True)


class TestIn(Schema):
    to = fields.String(required=True, validate=Length(max=254), metadata={
        "description": "email address (SMTP test) or E.164 number (SMS test)"})


class TestOut(Schema):
    sent = fields.Boolean(required=True, metadata={"description": "the server or gateway "
                                                   "accepted the message"})
    error = fields.String(required=True, metadata={"description": "why not; empty when "
                                                   "sent"})
    message_id = fields.Function(lambda r: r.message.id, required=True, metadata={
        "type": "integer", "description": "its entry in the messages log (purpose test): "
        "GET /api/v1/messages/{id}"})


TEST_DOC = ("Sends ONE message now with the saved settings (save first), without retries, "
            "and answers whether it went out or the exact error (connection refused, "
            "authentication failed, the gateway's answer). The message is logged (purpose "
            "`test`). A failed send is still a 200: the answer says `sent: false`.")


def _given(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


@bp.get("/settings/smtp")
@api_auth("read")
@bp.output(SmtpOut)
@bp.doc(summary="SMTP settings", description="The password is never shown: "
        "`password_set` says whether one is stored.")
def get_smtp(ctx: ApiContext) -> dict[str, Any]:
    return config.view(config.smtp_config(ctx.db, web_state().settings))


@bp.put("/settings/smtp")
@api_auth("admin")
@bp.input(SmtpIn, arg_name="body")
@bp.output(SmtpOut)
@bp.doc(summary="Change the SMTP settings", description="Fields left out keep their "
        "value; `password` absent or null keeps it, `\"\"` clears it. Stored encrypted. "
        "Nothing changes if any field is refused (422 names each).")
def put_smtp(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    return config.view(config.update_smtp(ctx.db, ctx.actor, web_state().settings,
                                          _given(body)))


@bp.post("/settings/smtp/test")
@api_auth("admin")
@bp.input(TestIn, arg_name="body")
@bp.output(TestOut)
@bp.doc(summary="Send a test email", description=TEST_DOC)
def test_smtp(ctx: ApiContext, body: dict[str, Any]) -> testsend.SendResult:
    return testsend.send_test_email(ctx.db, ctx.actor, web_state().settings, body["to"])


@bp.get("/settings/sms")
@api_auth("read")
@bp.output(SmsOut)
@bp.doc(summary="SMS gateway settings", description="The password or token is never "
        "shown: `password_set` says whether one is stored.")
def get_sms(ctx: ApiContext) -> dict[str, Any]:
    return config.view(config.sms_config(ctx.db))


@bp.put("/settings/sms")
@api_auth("admin")
@bp.input(SmsIn, arg_name="body")
@bp.output(SmsOut)
@bp.doc(summary="Change the SMS gateway settings", description="Fields left out keep "
        "their value; `password` absent or null keeps it, `\"\"` clears it. "
        "`preset: twilio` fills the Twilio form API (replace YOUR_ACCOUNT_SID in the URL, "
        "username = Account SID, password = Auth Token, sender = your Twilio number).")
def put_sms(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    return config.view(config.update_sms(ctx.db, ctx.actor, _given(body)))


@bp.post("/settings/sms/test")
@api_auth("admin")
@bp.input(TestIn, arg_name="body")
@bp.output(TestOut)
@bp.doc(summary="Send a test SMS", description=TEST_DOC)
def test_sms(ctx: ApiContext, body: dict[str, Any]) -> testsend.SendResult:
    return testsend.send_test_sms(ctx.db, ctx.actor, body["to"])


@bp.get("/settings/verification")
@api_auth("read")
@bp.output(VerificationOut)
@bp.doc(summary="Verification policy", description="Code lifetime, attempts, resend wait.")
def get_verification(ctx: ApiContext) -> dict[str, Any]:
    return config.view(config.verification_config(ctx.db))


@bp.put("/settings/verification")
@api_auth("admin")
@bp.input(VerificationIn, arg_name="body")
@bp.output(VerificationOut)
@bp.doc(summary="Change the verification policy", description="Fields left out keep "
        "their value.")
def put_verification(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    return config.view(config.update_verification(ctx.db, ctx.actor, _given(body)))
