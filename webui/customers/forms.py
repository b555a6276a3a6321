"""Adding, editing and deleting a customer (pages with inline field errors)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from orchestrator.customers import service
from orchestrator.db.types import STATUSES
from orchestrator.errors import Conflict, ValidationFailed
from orchestrator.header_policy import DEFAULT_PASS, PAI_MODES
from webui.auth import login_required
from webui.customers.common import actor, bp, require_write
from webui.db import db

TEXT_FIELDS = ("name", "status", "currency", "tax_percent", "debit_limit", "channels", "cps",
               "email", "mobile", "paypal_email", "website", "address_lines", "city",
               "postcode", "country", "low_balance_threshold")
BOOL_FIELDS = ("portal_access", "verification_required", "email_verified", "mobile_verified")
# Left empty, these keep their default (creating) or their value (editing).
OPTIONAL_NUMBERS = frozenset({"tax_percent", "debit_limit", "channels", "cps"})
# Header policy (docs/header-policy.md): only taken when the form sends them.
POLICY_FIELDS = ("pass_headers", "pai")


def form_data(form: MultiDict[str, str], current: dict[str, Any] | None) -> dict[str, Any]:
    """The service's input from the form; ``current`` is the customer being edited.

    A checkbox is only sent when it changed, so that changing the email still clears
    email_verified as the service's rule says.
    """
    data: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        if name == "currency" and current is not None:
            continue  # fixed after creation; not in the edit form
        value = form.get(name, "")
        if name in OPTIONAL_NUMBERS and not value.strip():
            continue
        data[name] = value
    for name in POLICY_FIELDS:
        if name in form:
            data[name] = form[name]
    for name in BOOL_FIELDS:
        checked = name in form
        if current is None or checked != current[name]:
            data[name] = checked
    return data


def errors_of(exc: ValidationFailed | Conflict) -> dict[str, list[str]]:
    if isinstance(exc, Conflict):
        return {exc.field: [exc.message]}
    return exc.errors


def status_of(exc: ValidationFailed | Conflict) -> int:
    return 409 if isinstance(exc, Conflict) else 422


def form_values(customer: dict[str, Any]) -> dict[str, Any]:
    """A customer as the form's values (address lines in one text box)."""
    return customer | {"address_lines": "\n".join(customer["address_lines"]),
                       "pass_headers": ", ".join(customer["pass_headers"])}


def _render(values: dict[str, Any], errors: dict[str, list[str]], customer_id: int | None,
            status: int = 200) -> ResponseReturnValue:
    known = set(TEXT_FIELDS) | set(BOOL_FIELDS) | set(POLICY_FIELDS)
    other = {f: m for f, m in errors.items() if f not in known}
    page = render_template("customers/form.html", values=values, errors=errors,
                           other_errors=other, customer_id=customer_id, statuses=STATUSES,
                           pai_modes=PAI_MODES)
    return page, status


@bp.route("/customers/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    who = require_write()
    if request.method == "GET":
        return _render({"status": "active", "currency": "", "pass_headers": DEFAULT_PASS,
                        "pai": "accept"}, {}, None)
    try:
        customer = service.create_customer(db(), who, form_data(request.form, None))
    except (ValidationFailed, Conflict) as exc:
        db().rollback()
        return _render(request.form.to_dict() | {b: b in request.form for b in BOOL_FIELDS},
                       errors_of(exc), None, status_of(exc))
    flash(f"Customer {customer.name} added.", "info")
    return redirect(url_for("customers.detail", customer_id=customer.id))


@bp.route("/customers/<int:customer_id>/edit", methods=["GET", "POST"])
@login_required
def edit(customer_id: int) -> ResponseReturnValue:
    who = require_write()
    current = service.customer_to_dict(service.get_customer(db(), who, customer_id))
    if request.method == "GET":
        return _render(form_values(current), {}, customer_id)
    try:
        service.update_customer(db(), who, customer_id, form_data(request.form, current))
    except (ValidationFailed, Conflict) as exc:
        db().rollback()
        values = (request.form.to_dict() | {b: b in request.form for b in BOOL_FIELDS}
                  | {"currency": current["currency"]})
        return _render(values, errors_of(exc), customer_id, status_of(exc))
    flash("Customer saved.", "info")
    return redirect(url_for("customers.detail", customer_id=customer_id))


@bp.route("/customers/<int:customer_id>/delete", methods=["GET", "POST"])
@login_required
def delete(customer_id: int) -> ResponseReturnValue:
    who = require_write()
    customer = service.get_customer(db(), actor(), customer_id)
    counts = {"ips": len(customer.ips), "sip_users": len(customer.sip_users),
              "payments": len(customer.payments)}
    name = customer.name
    if request.method == "POST":
        try:
            service.delete_customer(db(), who, customer_id)
        except Conflict as exc:
            db().rollback()
            page = render_template("customers/delete.html", customer=customer, counts=counts,
                                   refusal=exc.message)
            return page, 409
        flash(f"Customer {name} deleted.", "info")
        return redirect(url_for("customers.index"))
    return render_template("customers/delete.html", customer=customer, counts=counts,
                           refusal=None)
