"""A customer's page: tabs Main, IP auth, SIP users, Payments, Balance and Routing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orchestrator.customers import ips, payments, sip_users, views
from orchestrator.db.types import PAYMENT_STATUSES
from orchestrator.errors import Conflict, ValidationFailed
from webui.auth import login_required
from webui.customers.common import actor, bp, require_write
from webui.customers.forms import errors_of, status_of
from webui.db import db

TABS = (("main", "Main"), ("ips", "IP auth"), ("sip-users", "SIP users"),
        ("payments", "Payments"), ("balance", "Balance"), ("routes", "Routing"))
# Extra template values of a tab: (customer, form values) -> values (routes.py fills it).
TAB_CONTEXT: dict[str, Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]] = {}
SIP_USER_FIELDS = ("username", "password", "channels", "cps", "allowed_ips")


def render_detail(customer_id: int, tab: str, *, errors: dict[str, list[str]] | None = None,
                  values: dict[str, Any] | None = None, status: int = 200) -> ResponseReturnValue:
    if tab not in dict(TABS):
        abort(404)
    who = actor()
    customer = views.customer_detail(db(), who, customer_id)
    extra = TAB_CONTEXT[tab](customer, values or {}) if tab in TAB_CONTEXT else {}
    page = render_template("customers/detail.html", customer=customer, tab=tab, tabs=TABS,
                           can_write=who.can("write"), errors=errors or {},
                           values=values or {}, payment_statuses=PAYMENT_STATUSES, **extra)
    return page, status


@bp.get("/customers/<int:customer_id>")
@login_required
def detail(customer_id: int) -> ResponseReturnValue:
    return render_detail(customer_id, request.args.get("tab", "main"))


def _change(customer_id: int, tab: str, action: Callable[[], object], done: str,
            values: dict[str, Any] | None = None) -> ResponseReturnValue:
    """Run a service call; on success go back to the tab, else show it with the errors."""
    try:
        action()
    except (ValidationFailed, Conflict) as exc:
        db().rollback()
        return render_detail(customer_id, tab, errors=errors_of(exc), values=values,
                             status=status_of(exc))
    flash(done, "info")
    return redirect(url_for("customers.detail", customer_id=customer_id, tab=tab))


@bp.post("/customers/<int:customer_id>/ips")
@login_required
def add_ip(customer_id: int) -> ResponseReturnValue:
    who = require_write()
    data = {"network": request.form.get("network", ""), "port": request.form.get("port", "")}
    return _change(customer_id, "ips", lambda: ips.add_ip(db(), who, customer_id, data),
                   "IP auth entry added.", data)


@bp.post("/customers/<int:customer_id>/ips/<int:ip_id>/delete")
@login_required
def delete_ip(customer_id: int, ip_id: int) -> ResponseReturnValue:
    who = require_write()
    return _change(customer_id, "ips", lambda: ips.delete_ip(db(), who, customer_id, ip_id),
                   "IP auth entry removed.")


@bp.post("/customers/<int:customer_id>/sip-users")
@login_required
def add_sip_user(customer_id: int) -> ResponseReturnValue:
    who = require_write()
    data: dict[str, Any] = {f: request.form.get(f, "") for f in SIP_USER_FIELDS}
    for name in ("channels", "cps"):
        if not data[name].strip():
            del data[name]
    kept = {k: v for k, v in data.items() if k != "password"}  # never sent back
    return _change(customer_id, "sip-users",
                   lambda: sip_users.add_sip_user(db(), who, customer_id, data),
                   f"SIP user {data['username'].strip()} added.", kept)


@bp.post("/customers/<int:customer_id>/sip-users/<int:sip_user_id>/delete")
@login_required
def delete_sip_user(customer_id: int, sip_user_id: int) -> ResponseReturnValue:
    who = require_write()
    return _change(customer_id, "sip-users",
                   lambda: sip_users.delete_sip_user(db(), who, customer_id, sip_user_id),
                   "SIP user removed.")


@bp.post("/customers/<int:customer_id>/payments")
@login_required
def add_payment(customer_id: int) -> ResponseReturnValue:
    who = require_write()
    data: dict[str, Any] = {f: request.form.get(f, "")
                            for f in ("amount", "fee", "description", "status")}
    if not data["fee"].strip():
        del data["fee"]
    return _change(customer_id, "payments",
                   lambda: payments.add_payment(db(), who, customer_id, data),
                   "Payment recorded.", data)


@bp.post("/customers/<int:customer_id>/payments/<int:payment_id>/status")
@login_required
def payment_status(customer_id: int, payment_id: int) -> ResponseReturnValue:
    who = require_write()
    status = request.form.get("status", "")
    return _change(customer_id, "payments",
                   lambda: payments.set_payment_status(db(), who, customer_id, payment_id,
                                                       status),
                   f"Payment {payment_id} is now {status}.")
