"""The Routing tab of a customer: its ingress routes, added, edited and deleted.

Every change calls orchestrator/routing/routes.py, the service the REST API and the CLI
call; its field errors (``dial_string: line 2: ...``) are shown under the field.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from orchestrator.customers import views
from orchestrator.errors import Conflict, ValidationFailed
from orchestrator.ratecards.models import CustomerCard, ProviderCard
from orchestrator.routing import routes as service
from orchestrator.routing.models import ROUTE_STRATEGIES, RTP_PROXY_MODES, SIP_PING
from webui.auth import login_required
from webui.customers.common import actor, bp, require_write
from webui.customers.detail import TAB_CONTEXT, render_detail
from webui.customers.forms import errors_of, status_of
from webui.db import db

TAB = "routes"
TEXT_FIELDS = ("name", "tech_prefix", "dial_string", "sip_ping", "rtp_proxy",
               "rtp_proxy_mode")
# Left empty, these keep their default (adding) or their value (editing).
NUMBER_FIELDS = ("priority", "channels", "cps", "max_duration")
BOOL_FIELDS = ("enabled", "rtp_timeout", "profit_assurance")
CARD_FIELDS = ("lock_cards", "exclude_cards")


def form_data(form: MultiDict[str, str]) -> dict[str, Any]:
    """The service's input from the route form."""
    data: dict[str, Any] = {name: form.get(name, "") for name in TEXT_FIELDS}
    tariff = form.get("tariff_id", "").strip()
    data["tariff_id"] = tariff or None  # None: required when adding, kept when editing
    for name in NUMBER_FIELDS:
        value = form.get(name, "")
        if value.strip():
            data[name] = value
    for name in BOOL_FIELDS:
        data[name] = name in form
    for name in CARD_FIELDS:
        data[name] = [v for v in form.getlist(name) if v.strip()]
    data["strategy"] = form.get("strategy", "").strip() or None
    return data


def form_values(route: dict[str, Any]) -> dict[str, Any]:
    """A route (or the submitted data) as the form's values."""
    values = dict(route)
    for name in CARD_FIELDS:
        values[name] = [str(v) for v in values.get(name) or []]
    for name in ("tariff_id", *NUMBER_FIELDS):
        if values.get(name) is not None:
            values[name] = str(values[name])
    return values


def choices(customer: dict[str, Any]) -> dict[str, Any]:
    """The select options of the route form."""
    session = db()
    tariffs = session.execute(select(CustomerCard.id, CustomerCard.name).where(
        CustomerCard.currency == customer["currency"]).order_by(CustomerCard.name)).all()
    cards = session.execute(select(ProviderCard.id, ProviderCard.name).order_by(
        ProviderCard.name)).all()
    return {"tariffs": [(str(i), n) for i, n in tariffs],
            "provider_cards": [(str(i), n) for i, n in cards],
            "sip_ping_choices": [(c, c) for c in SIP_PING],
            "strategies": [(c, c.replace("_", " ")) for c in ROUTE_STRATEGIES],
            "rtp_proxy_modes": [(c, c) for c in RTP_PROXY_MODES]}


def tab_context(customer: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """What _routes.html needs besides the customer."""
    routes = [service.to_dict(r) for r in
              service.list_routes(db(), actor(), customer["id"])]
    names: dict[int, str] = {card_id: name for card_id, name in db().execute(
        select(CustomerCard.id, CustomerCard.name).where(
            CustomerCard.id.in_({r["tariff_id"] for r in routes})))}
    for route in routes:
        route["tariff_name"] = names.get(route["tariff_id"], f"card {route['tariff_id']}")
        route["dial_lines"] = len([x for x in route["dial_string"].splitlines() if x])
    defaults = form_values(service.DEFAULTS)
    return {"routes": routes, "route_values": defaults | values} | choices(customer)


TAB_CONTEXT[TAB] = tab_context


@bp.post("/customers/<int:customer_id>/routes")
@login_required
def add_route(customer_id: int) -> ResponseReturnValue:
    who = require_write()
    data = form_data(request.form)
    try:
        route = service.create_route(db(), who, customer_id, data)
        label = service.describe(route)
    except (ValidationFailed, Conflict) as exc:
        db().rollback()
        return render_detail(customer_id, TAB, errors=errors_of(exc),
                             values=form_values(data), status=status_of(exc))
    flash(f"Ingress {label} added.", "info")
    return redirect(url_for("customers.detail", customer_id=customer_id, tab=TAB))


def _form_page(customer_id: int, route_id: int, values: dict[str, Any],
               errors: dict[str, list[str]], status: int = 200) -> ResponseReturnValue:
    customer = views.customer_detail(db(), actor(), customer_id)
    page = render_template("customers/route_form.html", customer=customer,
                           route_id=route_id, route_values=values, errors=errors,
                           **choices(customer))
    return page, status


@bp.route("/customers/<int:customer_id>/routes/<int:route_id>/edit", methods=["GET", "POST"])
@login_required
def edit_route(customer_id: int, route_id: int) -> ResponseReturnValue:
    who = require_write()
    route = service.get_route(db(), who, customer_id, route_id)
    if request.method == "GET":
        return _form_page(customer_id, route_id, form_values(service.to_dict(route)), {})
    data = form_data(request.form)
    try:
        service.update_route(db(), who, customer_id, route_id, data)
    except (ValidationFailed, Conflict) as exc:
        db().rollback()
        return _form_page(customer_id, route_id, form_values(data), errors_of(exc),
                          status_of(exc))
    flash(f"Ingress route {route_id} saved.", "info")
    return redirect(url_for("customers.detail", customer_id=customer_id, tab=TAB))


@bp.route("/customers/<int:customer_id>/routes/<int:route_id>/delete",
          methods=["GET", "POST"])
@login_required
def delete_route(customer_id: int, route_id: int) -> ResponseReturnValue:
    who = require_write()
    route = service.get_route(db(), who, customer_id, route_id)
    if request.method == "GET":
        customer = views.customer_detail(db(), who, customer_id)
        return render_template("customers/route_delete.html", customer=customer,
                               route=service.to_dict(route), label=service.describe(route))
    service.delete_route(db(), who, customer_id, route_id)
    flash(f"Ingress route {route_id} deleted.", "info")
    return redirect(url_for("customers.detail", customer_id=customer_id, tab=TAB))

