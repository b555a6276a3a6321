"""/api/v1/routing/explain: what the switch does with a call, and why.

The answer comes from orchestrator.routing.explain over the snapshot the switch serves
and the node's tariff trees (not from the model being edited), so it agrees with the
switch. Reading only: any role with ``read``.
"""

from __future__ import annotations

from typing import Any

from apiflask import Schema, fields
from apiflask.validators import Length, OneOf, Range

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import resource_blueprint
from orchestrator.routing import explain as service
from orchestrator.routing import explain_query
from orchestrator.routing.explain_index import NOTHING_APPLIED
from webui.state import web_state

bp = resource_blueprint("api_explain", "Routing explain")

DECIMAL = {"type": "string", "format": "decimal"}


def _nullable(field: type[fields.Field[Any]], description: str, **meta: Any) -> Any:
    return field(required=True, allow_none=True,
                 metadata={"description": description, **meta})


class ExplainArgs(Schema):
    source_ip = fields.String(required=True, validate=Length(max=100), metadata={
        "description": "the call's source address (IPv4 or IPv6)", "example": "192.0.2.7"})
    source_port = fields.Integer(validate=Range(min=1, max=65535), metadata={
        "description": "the call's source port; omitted: 5060 (said in `notes`)"})
    username = fields.String(validate=Length(max=200), metadata={
        "description": "the call authenticates by digest as this SIP user (used only "
                       "when the source matches no IP auth entry)"})
    dialled = fields.String(required=True, validate=Length(max=100), metadata={
        "description": "the dialled number as sent (tech prefix included): 1-32 digits, "
                       "optionally after one leading +",
        "pattern": explain_query.DIALLED.pattern, "example": "447700900123"})
    caller = fields.String(validate=Length(max=100), metadata={
        "description": "the caller's number (does not change the routing)"})


class ExplainCandidateOut(Schema):
    provider_card_id = fields.Integer(required=True)
    carrier_id = _nullable(fields.Integer, "null when the card cannot carry calls")
    prefix = fields.String(required=True, metadata={"description": "the tariff prefix"})
    cost = fields.String(required=True, metadata={
        **DECIMAL, "description": "per minute, in the tariff's currency"})
    weight = fields.Integer(required=True, metadata={
        "description": "the parent's weight as the random strategy counts it (at least 1)"})
    dropped = _nullable(fields.String, "null, or why the switch does not try this card",
                        enum=[explain_query.NOT_LOCKED, explain_query.EXCLUDED, explain_query.LOSS,
                              explain_query.UNAVAILABLE, None])


class ExplainMediaOut(Schema):
    zone = fields.String(required=True, metadata={
        "description": "`direct`, `auto` or a media zone name"})
    mode = fields.String(required=True, validate=OneOf(("strict", "relaxed")))


class ExplainOut(Schema):
    verdict = fields.String(required=True, metadata={
        "description": "`ok`, or the SIP code and reason the call is refused with",
        "enum": [explain_query.OK, explain_query.IP_NOT_AUTHORISED, explain_query.ACCOUNT_INACTIVE,
                 explain_query.VERIFICATION_REQUIRED, explain_query.NO_INGRESS_ROUTE,
                 explain_query.BLOCKED_BY_DIAL_STRING, explain_query.NO_RATE,
                 explain_query.DESTINATION_BLOCKED, explain_query.NO_ROUTES,
                 explain_query.INSUFFICIENT_BALANCE]})
    customer_id = _nullable(fields.Integer, "null when not identified")
    customer_name = _nullable(fields.String, "null when not identified")
    route_id = _nullable(fields.Integer, "the ingress route; null when none")
    route_name = _nullable(fields.String, "null when no route matched")
    number = _nullable(fields.String, "the dialled number without the tech prefix")
    tariff_prefix = _nullable(fields.String, "longest prefix of the tariff")
    sell_rate = _nullable(fields.String, "per minute", **DECIMAL)
    currency = _nullable(fields.String, "the tariff's currency")
    candidates = fields.List(fields.Nested(ExplainCandidateOut), required=True, metadata={
        "description": "the tariff's carriers for the prefix in strategy order"})
    order = fields.List(fields.Integer(), required=True, metadata={
        "description": "provider card ids in the order the switch tries them; empty "
                       "unless the verdict is ok"})
    media = fields.Nested(ExplainMediaOut, required=True, allow_none=True)
    notes = fields.List(fields.String(), required=True, metadata={
        "description": "how each step decided, and what only the live switch knows "
                       "(channel and cps counts, random draws, round robin counters)"})
    snapshot_version = fields.String(required=True)


@bp.get("/routing/explain")
@api_auth("read")
@bp.input(ExplainArgs, location="query", arg_name="args")
@bp.output(ExplainOut)
@bp.doc(summary="Explain what the switch does with a call",
        description="Customer, route, stripped number, tariff prefix and sell rate, every "
        "candidate with its cost and why it was dropped, the order the carriers are "
        "tried, or the SIP code and reason the call is refused with. Computed over the "
        "snapshot the switch serves. 422 names each bad field.",
        responses={409: NOTHING_APPLIED})
def explain_call(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    return service.explain_current(web_state().settings, **args)
