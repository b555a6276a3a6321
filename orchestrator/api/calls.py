"""/api/v1/calls: the calls the switch carries now, and hanging one up.

Thin over orchestrator.calls.service (docs/live-calls.md). Only the local node is
asked; when it cannot be, the list is empty and ``errors`` says why (like the bans).
"""

from __future__ import annotations

from typing import Any

from apiflask import HTTPError, Schema, fields
from apiflask.validators import Range

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import MAX_ID, resource_blueprint
from orchestrator.calls import service
from webui.state import web_state

bp = resource_blueprint("api_calls", "Calls")


class NamedOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True, allow_none=True, metadata={
        "description": "null when the id is not in the model (deleted since)"})


class LegOut(Schema):
    side = fields.String(required=True, metadata={"enum": ["caller", "callee"]})
    tag = fields.String(required=True, metadata={"description": "the leg's SIP tag"})
    packets = fields.Integer(required=True, metadata={"description": "RTP packets "
                                                      "rtpengine received from this side"})
    bytes = fields.Integer(required=True)
    last_packet_age = fields.Float(required=True, allow_none=True, metadata={
        "description": "seconds since the last packet; null: none yet"})


class MediaOut(Schema):
    mode = fields.String(required=True, allow_none=True, metadata={
        "description": "proxy (rtpengine relays it), direct, late (late offer not "
        "anchored yet); null when unknown"})
    state = fields.String(required=True, metadata={
        "enum": ["flowing", "silent", "n/a"],
        "description": "flowing: RTP within the last 5 s; silent: relayed but no recent "
        "RTP; n/a: direct media, or rtpengine could not tell (see note)"})
    legs = fields.List(fields.Nested(LegOut), required=True)
    note = fields.String(required=True, allow_none=True)


class CallOut(Schema):
    id = fields.String(required=True, metadata={"description": "the call's id on its "
                                                "node, for DELETE", "example": "1404.5330"})
    node = fields.String(required=True, metadata={"example": "local"})
    call_id = fields.String(required=True, metadata={"description": "the customer's "
                                                     "Call-ID"})
    state = fields.String(required=True, metadata={"enum": ["ringing", "answered"]})
    started_at = fields.String(required=True, metadata={"format": "date-time"})
    answered_at = fields.String(required=True, allow_none=True,
                                metadata={"format": "date-time"})
    duration = fields.Integer(required=True, metadata={"description": "seconds since "
                                                       "the answer (0 while ringing)"})
    age = fields.Integer(required=True, metadata={"description": "seconds since the "
                                                  "INVITE arrived"})
    customer = fields.Nested(NamedOut, required=True, allow_none=True)
    route = fields.Nested(NamedOut, required=True, allow_none=True,
                          metadata={"description": "the ingress route"})
    sip_user = fields.String(required=True, allow_none=True)
    source_ip = fields.String(required=True, allow_none=True)
    caller = fields.String(required=True)
    dialled = fields.String(required=True, metadata={"description": "as the customer "
                                                     "dialled it (tech prefix included)"})
    number = fields.String(required=True, allow_none=True, metadata={
        "description": "after the tech prefix"})
    carrier = fields.Nested(NamedOut, required=True, allow_none=True, metadata={
        "description": "the carrier that answered, or the one being tried"})
    provider_card = fields.Nested(NamedOut, required=True, allow_none=True)
    routed_number = fields.String(required=True, allow_none=True, metadata={
        "description": "the number sent to the answering carrier"})
    media = fields.Nested(MediaOut, required=True)


class CallNodeErrorOut(Schema):
    node = fields.String(required=True)
    error = fields.String(required=True)


class CallListOut(Schema):
    items = fields.List(fields.Nested(CallOut), required=True, metadata={
        "description": "live calls, oldest first"})
    total = fields.Integer(required=True)
    errors = fields.List(fields.Nested(CallNodeErrorOut), required=True, metadata={
        "description": "nodes that could not be asked; empty when every node answered"})


class CallArgs(Schema):
    customer_id = fields.Integer(validate=Range(min=1, max=MAX_ID),
                                 metadata={"description": "only this customer's calls"})
    carrier_id = fields.Integer(validate=Range(min=1, max=MAX_ID), metadata={
        "description": "only calls answered by (or being tried on) this carrier"})


class HungUpOut(Schema):
    id = fields.String(required=True)
    node = fields.String(required=True)
    call_id = fields.String(required=True)
    state = fields.String(required=True, metadata={
        "enum": ["ringing", "answered"], "description": "the call's state when ended"})
    action = fields.String(required=True, metadata={
        "enum": ["bye", "cancel"], "description": "bye: BYE to both sides (answered); "
        "cancel: CANCEL to the carrier, 487 to the customer (ringing)"})
    caller = fields.String(required=True)
    dialled = fields.String(required=True)
    customer = fields.Nested(NamedOut, required=True, allow_none=True)
    carrier = fields.Nested(NamedOut, required=True, allow_none=True)


@bp.get("/calls")
@api_auth("read")
@bp.input(CallArgs, location="query", arg_name="args")
@bp.output(CallListOut)
@bp.doc(summary="Live calls", description="The calls the switch carries now, ringing "
        "and answered, oldest first: customer, route, caller, dialled number, carrier, "
        "duration and media state (rtpengine's counters for proxied calls). Only the "
        "local node is asked; when it does not answer, `items` is empty and `errors` "
        "says why.")
def list_calls(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    try:
        calls = service.list_calls(ctx.db, web_state().settings, actor=ctx.actor,
                                   customer_id=args.get("customer_id"),
                                   carrier_id=args.get("carrier_id"))
    except service.CallsUnavailable as exc:
        return {"items": [], "total": 0, "errors": [{"node": service.NODE,
                                                     "error": str(exc)}]}
    return {"items": [c.to_dict() for c in calls], "total": len(calls), "errors": []}


@bp.delete("/calls/<path:call>")
@api_auth("write")
@bp.output(HungUpOut)
@bp.doc(summary="Hang up a call", description="`call` is the call's `id` from the "
        "list, or its Call-ID. An answered call gets a BYE on both sides (its CDR says "
        "`operator` hung up); a ringing call is cancelled toward the carrier and the "
        "customer gets `487 Request Terminated`. Recorded in the audit log.",
        responses={404: "No live call has that id or Call-ID (or it just ended)",
                   422: "Not a call id or Call-ID",
                   503: "The switch could not be asked: nothing was ended"})
def hangup(ctx: ApiContext, call: str) -> dict[str, Any]:
    try:
        return service.hangup(ctx.db, ctx.actor, web_state().settings, call)
    except service.CallsUnavailable as exc:
        raise HTTPError(503, str(exc)) from exc
