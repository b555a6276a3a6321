"""A carrier's page: tabs Main, Gateways, Payments and Balance."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orchestrator.carriers import gateways, payments, service
from orchestrator.carriers.schemas import TRANSPORTS
from orchestrator.db.types import PAYMENT_STATUSES
from orchestrator.errors import Conflict, ValidationFailed
from webui.auth import login_required
from webui.carriers.common import actor, bp, errors_of, require_write, status_of
from webui.db import db

TABS = (("main", "Main"), ("gateways", "Gateways"), ("payments", "Payments"),
        ("balance", "Balance"))
PAYMENTS_SHOWN = 100


def render_detail(carrier_id: int, tab: str, *, errors: dict[str, list[str]] | None = None,
                  values: dict[str, Any] | None = None, status: int = 200) -> ResponseReturnValue:
    if tab not in dict(TABS):
        abort(404)
    who = actor()
    session = db()
    carrier = service.to_dict(service.get_carrier(session, who, carrier_id))
    gateway_rows = [service.gateway_to_dict(g)
                    for g in gateways.list_gateways(session, who, carrier_id)]
    payment_list = payments.list_payments(session, who, carrier_id)
    payment_rows = [service.payment_to_dict(p) for p in payment_list[:PAYMENTS_SHOWN]]
    balance = service.format_money(payments.balance(session, carrier_id))
    page = render_template("carriers/detail.html", carrier=carrier, gateways=gateway_rows,
                           payments=payment_rows, payments_total=len(payment_list),
                           balance=balance, tab=tab, tabs=TABS, can_write=who.can("write"),
                           errors=errors or {}, values=values or {},
                           payment_statuses=PAYMENT_STATUSES, transports=TRANSPORTS)
    return page, status


@bp.get("/carriers/<int:carrier_id>")
@login_required
def detail(carrier_id: int) -> ResponseReturnValue:
    return render_detail(carrier_id, request.args.get("tab", "main"))


def _change(carrier_id: int, tab: str, action: Callable[[], object], done: str,
            values: dict[str, Any] | None = None) -> ResponseReturnValue:
    """Run a service call; on success go back to the tab, else show it with the errors."""
    try:
        action()
    except (ValidationFailed, Conflict) as exc:
        db().rollback()
        return render_detail(carrier_id, tab, errors=errors_of(exc), values=values,
                             status=status_of(exc))
    flash(done, "info")
    return redirect(url_for("carriers.detail", carrier_id=carrier_id, tab=tab))


@bp.post("/carriers/<int:carrier_id>/gateways")
@login_required
def add_gateway(carrier_id: int) -> ResponseReturnValue:
    who = require_write()
    data: dict[str, Any] = {f: request.form.get(f, "")
                            for f in ("host", "port", "transport", "weight")}
    for name in ("port", "weight", "transport"):
        if not data[name].strip():
            del data[name]
    data["enabled"] = "enabled" in request.form
    return _change(carrier_id, "gateways",
                   lambda: gateways.add_gateway(db(), who, carrier_id, data),
                   f"Gateway {data['host'].strip()} added.", data)


@bp.post("/carriers/<int:carrier_id>/gateways/<int:gateway_id>/enabled")
@login_required
def gateway_enabled(carrier_id: int, gateway_id: int) -> ResponseReturnValue:
    who = require_write()
    enabled = request.form.get("enabled") == "yes"
    return _change(carrier_id, "gateways",
                   lambda: gateways.update_gateway(db(), who, carrier_id, gateway_id,
                                                   {"enabled": enabled}),
                   f"Gateway {'enabled' if enabled else 'disabled'}.")


@bp.post("/carriers/<int:carrier_id>/gateways/<int:gateway_id>/delete")
@login_required
def delete_gateway(carrier_id: int, gateway_id: int) -> ResponseReturnValue:
    who = require_write()
    return _change(carrier_id, "gateways",
                   lambda: gateways.delete_gateway(db(), who, carrier_id, gateway_id),
                   "Gateway removed.")


@bp.post("/carriers/<int:carrier_id>/payments")
@login_required
def add_payment(carrier_id: int) -> ResponseReturnValue:
    who = require_write()
    data: dict[str, Any] = {f: request.form.get(f, "")
                            for f in ("amount", "fee", "description", "status")}
    if not data["fee"].strip():
        del data["fee"]
    return _change(carrier_id, "payments",
                   lambda: payments.add_payment(db(), who, carrier_id, data),
                   "Payment recorded.", data)


@bp.post("/carriers/<int:carrier_id>/payments/<int:payment_id>/status")
@login_required
def payment_status(carrier_id: int, payment_id: int) -> ResponseReturnValue:
    who = require_write()
    status = request.form.get("status", "")
    return _change(carrier_id, "payments",
                   lambda: payments.set_payment_status(db(), who, carrier_id, payment_id,
                                                       status),
                   f"Payment {payment_id} is now {status}.")
