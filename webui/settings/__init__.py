"""The Settings page (administrators only): Email (SMTP), SMS gateway and Verification
tabs, each a form with inline field errors, and the "send test" buttons.

Views call orchestrator.notify.config / testsend, the functions the REST API and the
CLI call (docs/notifications.md). Passwords are write-only: the inputs are never
pre-filled; left empty they keep the stored value, the "clear" box removes it. The
Twilio button fills the SMS form with the preset (nothing is saved until Save).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from orchestrator.actor import Actor
from orchestrator.errors import ValidationFailed
from orchestrator.notify import config, testsend
from webui.auth import current_actor, login_required
from webui.db import db
from webui.state import web_state

bp = Blueprint("settings", __name__)

SMTP_FIELDS = ("host", "port", "security", "username", "from_address", "timeout_seconds")
SMS_FIELDS = ("preset", "url", "method", "content_type", "body_template", "auth",
              "username", "sender", "timeout_seconds")
VERIFICATION_FIELDS = ("code_minutes", "max_attempts", "resend_seconds")
TABS = (("settings.email", "Email (SMTP)"), ("settings.sms", "SMS gateway"),
        ("settings.verification", "Verification"))
CLEAR = "password_clear"


def _admin() -> Actor:
    who = current_actor()
    if not who.can("admin"):
        abort(403, f"Your role ({who.role}) may not change the delivery settings: ask an "
                   "administrator.")
    return who


def form_data(form: MultiDict[str, str], fields: tuple[str, ...],
              secret: bool) -> dict[str, Any]:
    """The service's input from a form: every field as typed; the password only when
    typed (kept otherwise) or cleared with the box."""
    data: dict[str, Any] = {name: form.get(name, "") for name in fields if name in form}
    if secret:
        if CLEAR in form:
            data["password"] = ""
        elif form.get("password", ""):
            data["password"] = form["password"]
    return data


def _typed(form: MultiDict[str, str], current: dict[str, Any]) -> dict[str, Any]:
    """What was typed, to show again after a refusal (never the password)."""
    values = {k: v for k, v in form.to_dict().items()
              if k not in ("password", "csrf_token", CLEAR, "fill_preset")}
    return current | values


def _page(template: str, values: dict[str, Any], errors: dict[str, list[str]],
          status: int = 200, **extra: Any) -> ResponseReturnValue:
    return render_template(f"settings/{template}.html", values=values, errors=errors,
                           tabs=TABS, config=config, **extra), status


def _edit(template: str, fields: tuple[str, ...], secret: bool, current: dict[str, Any],
          save: Any, endpoint: str, **extra: Any) -> ResponseReturnValue:
    if request.method == "GET":
        return _page(template, current, {}, **extra)
    try:
        save(form_data(request.form, fields, secret))
    except ValidationFailed as exc:
        db().rollback()
        return _page(template, _typed(request.form, current), exc.errors, 422, **extra)
    flash("Settings saved.", "info")
    return redirect(url_for(endpoint))


@bp.get("/settings")
@login_required
def index() -> ResponseReturnValue:
    _admin()
    return redirect(url_for("settings.email"))


@bp.route("/settings/email", methods=["GET", "POST"])
@login_required
def email() -> ResponseReturnValue:
    who = _admin()
    app_settings = web_state().settings
    current = config.view(config.smtp_config(db(), app_settings))
    return _edit("email", SMTP_FIELDS, True, current,
                 lambda data: config.update_smtp(db(), who, app_settings, data),
                 "settings.email")


@bp.route("/settings/sms", methods=["GET", "POST"])
@login_required
def sms() -> ResponseReturnValue:
    who = _admin()
    current = config.view(config.sms_config(db()))
    if request.method == "POST" and request.form.get("fill_preset") == "twilio":
        values = _typed(request.form, current) | config.TWILIO | {"preset": "twilio"}
        flash("Twilio preset filled in: replace YOUR_ACCOUNT_SID in the URL, enter the "
              "Account SID as username, the Auth Token as password and your Twilio "
              "number as sender, then Save.", "info")
        return _page("sms", values, {})
    return _edit("sms", SMS_FIELDS, True, current,
                 lambda data: config.update_sms(db(), who, data), "settings.sms")


@bp.route("/settings/verification", methods=["GET", "POST"])
@login_required
def verification() -> ResponseReturnValue:
    who = _admin()
    current = config.view(config.verification_config(db()))
    return _edit("verification", VERIFICATION_FIELDS, False, current,
                 lambda data: config.update_verification(db(), who, data),
                 "settings.verification")


def _tested(result: testsend.SendResult, endpoint: str) -> ResponseReturnValue:
    what = "email" if result.message.channel == "email" else "SMS"
    if result.sent:
        flash(f"Test {what} sent to {result.message.recipient}.", "info")
    else:
        flash(f"Test {what} to {result.message.recipient} failed: {result.error}", "error")
    return redirect(url_for(endpoint))


def _test_refused(exc: ValidationFailed, endpoint: str) -> ResponseReturnValue:
    db().rollback()
    flash(f"No test sent: {' '.join(exc.errors.get('to', [str(exc)]))}", "error")
    return redirect(url_for(endpoint))


@bp.post("/settings/email/test")
@login_required
def test_email() -> ResponseReturnValue:
    who = _admin()
    try:
        result = testsend.send_test_email(db(), who, web_state().settings,
                                          request.form.get("to", "").strip())
    except ValidationFailed as exc:
        return _test_refused(exc, "settings.email")
    return _tested(result, "settings.email")


@bp.post("/settings/sms/test")
@login_required
def test_sms() -> ResponseReturnValue:
    who = _admin()
    try:
        result = testsend.send_test_sms(db(), who, request.form.get("to", "").strip())
    except ValidationFailed as exc:
        return _test_refused(exc, "settings.sms")
    return _tested(result, "settings.sms")
