"""Adding, editing and deleting a carrier (pages with inline field errors).

The portal password is write-only: its input is never pre-filled; left empty it keeps
the stored password, the "clear" box clears it, and the page only says "set"/"not set".
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from orchestrator.carriers import service
from orchestrator.db.types import STATUSES
from orchestrator.errors import Conflict, ValidationFailed
from orchestrator.header_policy import DEFAULT_PASS
from webui.auth import login_required
from webui.carriers.common import bp, errors_of, require_write, status_of
from webui.db import db

TEXT_FIELDS = ("name", "status", "currency", "channels", "cps", "paypal_email", "website",
               "portal_url", "portal_username", "address_lines", "city", "postcode",
               "country", "pre_ring_timeout", "post_ring_timeout")
BOOL_FIELDS = ("portal_access",)
# Left empty, these keep their default (creating) or their value (editing).
OPTIONAL_NUMBERS = frozenset({"channels", "cps", "pre_ring_timeout", "post_ring_timeout"})
CLEAR_PASSWORD = "portal_password_clear"
# Header policy (docs/header-policy.md): only taken when the form sends them.
POLICY_FIELDS = ("pass_headers", "trust_pai")


def form_data(form: MultiDict[str, str], editing: bool) -> dict[str, Any]:
    """The service's input from the form (the currency only when creating)."""
    data: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        if name == "currency" and editing:
            continue  # fixed after creation; not in the edit form
        value = form.get(name, "")
        if name in OPTIONAL_NUMBERS and not value.strip():
            continue
        data[name] = value
    for name in BOOL_FIELDS:
        data[name] = name in form
    for name in POLICY_FIELDS:
        if name in form:
            data[name] = form[name]
    password = form.get("portal_password", "")
    if editing and CLEAR_PASSWORD in form:
        data["portal_password"] = ""
    elif password:
        data["portal_password"] = password
    return data


def _typed(form: MultiDict[str, str]) -> dict[str, Any]:
    """What was typed, to show again after a refusal (never the password)."""
    values = {k: v for k, v in form.to_dict().items()
              if k not in ("portal_password", "csrf_token")}
    return values | {b: b in form for b in BOOL_FIELDS}


def _render(values: dict[str, Any], errors: dict[str, list[str]], carrier_id: int | None,
            status: int = 200) -> ResponseReturnValue:
    known = set(TEXT_FIELDS) | set(BOOL_FIELDS) | set(POLICY_FIELDS) | {"portal_password"}
    if isinstance(values.get("pass_headers"), list):
        values = values | {"pass_headers": ", ".join(values["pass_headers"])}
    other = {f: m for f, m in errors.items() if f not in known}
    page = render_template("carriers/form.html", values=values, errors=errors,
                           other_errors=other, carrier_id=carrier_id, statuses=STATUSES)
    return page, status


@bp.route("/carriers/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    who = require_write()
    if request.method == "GET":
        return _render({"status": "active", "currency": "", "pre_ring_timeout": 30,
                        "post_ring_timeout": 30, "pass_headers": DEFAULT_PASS,
                        "trust_pai": True}, {}, None)
    try:
        carrier = service.create_carrier(db(), who, form_data(request.form, editing=False))
    except (ValidationFailed, Conflict) as exc:
        db().rollback()
        return _render(_typed(request.form), errors_of(exc), None, status_of(exc))
    flash(f"Carrier {carrier.name} added.", "info")
    return redirect(url_for("carriers.detail", carrier_id=carrier.id))


@bp.route("/carriers/<int:carrier_id>/edit", methods=["GET", "POST"])
@login_required
def edit(carrier_id: int) -> ResponseReturnValue:
    who = require_write()
    current = service.to_dict(service.get_carrier(db(), who, carrier_id))
    if request.method == "GET":
        return _render(current, {}, carrier_id)
    try:
        service.update_carrier(db(), who, carrier_id, form_data(request.form, editing=True))
    except (ValidationFailed, Conflict) as exc:
        db().rollback()
        values = _typed(request.form) | {
            "currency": current["currency"],
            "portal_password_set": current["portal_password_set"]}
        return _render(values, errors_of(exc), carrier_id, status_of(exc))
    flash("Carrier saved.", "info")
    return redirect(url_for("carriers.detail", carrier_id=carrier_id))


@bp.route("/carriers/<int:carrier_id>/delete", methods=["GET", "POST"])
@login_required
def delete(carrier_id: int) -> ResponseReturnValue:
    who = require_write()
    carrier = service.get_carrier(db(), who, carrier_id)
    counts = {"gateways": len(carrier.gateways), "payments": len(carrier.payments)}
    name = carrier.name
    if request.method == "POST":
        try:
            service.delete_carrier(db(), who, carrier_id)
        except Conflict as exc:
            db().rollback()
            page = render_template("carriers/delete.html", carrier=carrier, counts=counts,
                                   refusal=exc.message)
            return page, 409
        flash(f"Carrier {name} deleted.", "info")
        return redirect(url_for("carriers.index"))
    return render_template("carriers/delete.html", carrier=carrier, counts=counts,
                           refusal=None)
