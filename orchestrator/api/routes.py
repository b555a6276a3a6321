"""/api/v1/customers/{id}/routes: a customer's ingress routes, on the routing service.

A customer's routes are a short list: q, sort and the page window are applied here to
what the service returns (ordered by priority, then id).
"""

from __future__ import annotations

from typing import Any

from apiflask import fields
from apiflask.validators import Length

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import resource_blueprint
from orchestrator.api.carriers import schema_class
from orchestrator.api.customers import lines_in, lines_out
from orchestrator.api.fields import UtcDateTime
from orchestrator.api.listing import ListArgs, page_list, page_of
from orchestrator.routing import routes
from orchestrator.routing.models import (
    ROUTE_STRATEGIES,
    RTP_PROXY_MODES,
    SIP_PING,
    IngressRoute,
)

bp = resource_blueprint("api_routes", "Ingress routes")

DOC: dict[str, str] = {
    "name": "free label, at most 100 characters",
    "tariff_id": "the customer rate card that prices the calls; its currency must be "
                 "the customer's",
    "tech_prefix": "0-20 digits the customer puts before the number (stripped); empty = "
                   "none (tried after every route whose tech prefix matches)",
    "enabled": "only enabled routes take calls",
    "priority": "0-1000000, lower first among routes with the same tech prefix; two "
                "enabled routes of a customer may not share tech prefix and priority",
    "channels": "concurrent calls on this route, 0 = unlimited",
    "cps": "new calls per second on this route, 0 = unlimited",
    "max_duration": "seconds before the call is torn down (BYE both ways), 0 = no limit",
    "sip_ping": "in-dialog OPTIONS about every 30 s towards: " + ", ".join(SIP_PING),
    "rtp_timeout": "tear down when no media flows (needs rtp_proxy other than direct)",
    "profit_assurance": "skip carriers whose cost exceeds the sell rate",
    "lock_cards": "only these provider card ids (not with exclude_cards)",
    "exclude_cards": "all provider cards but these ids (not with lock_cards)",
    "strategy": "null = the tariff's strategy, else one of " + ", ".join(ROUTE_STRATEGIES),
    "rtp_proxy": "auto, direct, or a media zone name",
    "rtp_proxy_mode": "strict (no media proxy -> no call) or relaxed (media flows "
                      "directly)",
}


def _meta(name: str, **extra: Any) -> dict[str, Any]:
    return {"metadata": {"description": DOC[name], **extra}}


def route_fields(create: bool) -> dict[str, fields.Field[Any]]:
    """Types only: the service checks the values and names every bad field."""
    opt: dict[str, Any] = {} if create else {"allow_none": True}
    ids = fields.List(fields.Integer(), validate=Length(max=routes.CARDS_MAX), **opt,
                      **_meta("lock_cards"))
    return {
        "name": fields.String(validate=Length(max=1000), **opt, **_meta("name")),
        "tariff_id": fields.Integer(required=create, **opt, **_meta("tariff_id")),
        "tech_prefix": fields.String(validate=Length(max=1000), **opt,
                                     **_meta("tech_prefix")),
        "dial_string": lines_in("lines; each a digit prefix (`44`) or a regular "
                                "expression matched from the start (`^1(204|226)`); "
                                "empty = allow all", **opt),
        "enabled": fields.Boolean(**opt, **_meta("enabled")),
        "priority": fields.Integer(**opt, **_meta("priority")),
        "channels": fields.Integer(**opt, **_meta("channels")),
        "cps": fields.Integer(**opt, **_meta("cps")),
        "max_duration": fields.Integer(**opt, **_meta("max_duration")),
        "sip_ping": fields.String(validate=Length(max=100), **opt,
                                  **_meta("sip_ping", enum=list(SIP_PING))),
        "rtp_timeout": fields.Boolean(**opt, **_meta("rtp_timeout")),
        "profit_assurance": fields.Boolean(**opt, **_meta("profit_assurance")),
        "lock_cards": ids,
        "exclude_cards": fields.List(fields.Integer(), validate=Length(max=routes.CARDS_MAX),
                                     **opt, **_meta("exclude_cards")),
        "strategy": fields.String(allow_none=True, validate=Length(max=100),
                                  **_meta("strategy")),
        "rtp_proxy": fields.String(validate=Length(max=100), **opt, **_meta("rtp_proxy")),
        "rtp_proxy_mode": fields.String(validate=Length(max=100), **opt,
                                        **_meta("rtp_proxy_mode",
                                                enum=list(RTP_PROXY_MODES))),
    }


RouteCreateIn = schema_class("RouteCreateIn", route_fields(True))
RoutePatchIn = schema_class("RoutePatchIn", route_fields(False))
RouteOut = schema_class("RouteOut", {
    "id": fields.Integer(required=True),
    "customer_id": fields.Integer(required=True),
    "name": fields.String(required=True),
    "tariff_id": fields.Integer(required=True, **_meta("tariff_id")),
    "tech_prefix": fields.String(required=True, **_meta("tech_prefix")),
    "dial_string": lines_out(lambda r: r.dial_string, "one entry a line; empty = allow "
                             "all"),
    "enabled": fields.Boolean(required=True),
    "priority": fields.Integer(required=True, **_meta("priority")),
    "channels": fields.Integer(required=True, **_meta("channels")),
    "cps": fields.Integer(required=True, **_meta("cps")),
    "max_duration": fields.Integer(required=True, **_meta("max_duration")),
    "sip_ping": fields.String(required=True, **_meta("sip_ping", enum=list(SIP_PING))),
    "rtp_timeout": fields.Boolean(required=True),
    "profit_assurance": fields.Boolean(required=True),
    "lock_cards": fields.List(fields.Integer(), required=True, **_meta("lock_cards")),
    "exclude_cards": fields.List(fields.Integer(), required=True, **_meta("exclude_cards")),
    "strategy": fields.String(required=True, allow_none=True, **_meta("strategy")),
    "rtp_proxy": fields.String(required=True, **_meta("rtp_proxy")),
    "rtp_proxy_mode": fields.String(required=True, **_meta(
        "rtp_proxy_mode", enum=list(RTP_PROXY_MODES))),
    "created_at": UtcDateTime(required=True),
    "updated_at": UtcDateTime(required=True),
})

CONFLICT = ("An enabled route of the customer has the same tech prefix and priority")
SORTABLE = ("id", "name", "tech_prefix", "priority", "tariff_id", "enabled", "created_at")


def _given(body: dict[str, Any]) -> dict[str, Any]:
    """Fields that change something: ``null`` keeps a value, except ``strategy``
    (null = the tariff's strategy)."""
    return {k: v for k, v in body.items() if v is not None or k == "strategy"}


@bp.post("/customers/<int:customer_id>/routes")
@api_auth("write")
@bp.input(RouteCreateIn, arg_name="body")
@bp.output(RouteOut, status_code=201)
@bp.doc(summary="Add an ingress route to a customer", description="Only `tariff_id` is "
        "required. 422 names each bad field; a dial string error names the line.",
        responses={404: "No such customer", 409: CONFLICT})
def create_route(ctx: ApiContext, customer_id: int, body: dict[str, Any]) -> IngressRoute:
    return routes.create_route(ctx.db, ctx.actor, customer_id, body)


@bp.get("/customers/<int:customer_id>/routes")
@api_auth("read")
@bp.input(ListArgs, location="query", arg_name="args")
@bp.output(page_of(RouteOut))
@bp.doc(summary="List a customer's ingress routes", description="`q` searches name and "
        "tech prefix; sort by " + ", ".join(SORTABLE) + " (default: priority, then id).",
        responses={404: "No such customer"})
def list_routes(ctx: ApiContext, customer_id: int, args: dict[str, Any]) -> dict[str, Any]:
    rows = routes.list_routes(ctx.db, ctx.actor, customer_id)
    return page_list(rows, args, ("name", "tech_prefix"), SORTABLE, "priority,id")


@bp.get("/customers/<int:customer_id>/routes/<int:route_id>")
@api_auth("read")
@bp.output(RouteOut)
@bp.doc(summary="Get an ingress route", responses={404: "No such customer or route"})
def get_route(ctx: ApiContext, customer_id: int, route_id: int) -> IngressRoute:
    return routes.get_route(ctx.db, ctx.actor, customer_id, route_id)


@bp.patch("/customers/<int:customer_id>/routes/<int:route_id>")
@api_auth("write")
@bp.input(RoutePatchIn, arg_name="body")
@bp.output(RouteOut)
@bp.doc(summary="Change an ingress route", description="Only the fields given change; "
        "`null` keeps a value, except `strategy` (null = the tariff's strategy).",
        responses={404: "No such customer or route", 409: CONFLICT})
def update_route(ctx: ApiContext, customer_id: int, route_id: int,
                 body: dict[str, Any]) -> IngressRoute:
    return routes.update_route(ctx.db, ctx.actor, customer_id, route_id, _given(body))


@bp.delete("/customers/<int:customer_id>/routes/<int:route_id>")
@api_auth("write")
@bp.output({}, status_code=204)
@bp.doc(summary="Delete an ingress route", responses={404: "No such customer or route"})
def delete_route(ctx: ApiContext, customer_id: int, route_id: int) -> tuple[str, int]:
    routes.delete_route(ctx.db, ctx.actor, customer_id, route_id)
    return "", 204
