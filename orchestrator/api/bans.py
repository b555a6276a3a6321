"""/api/v1/switch/bans: source addresses banned for flooding, and lifting a ban.

Thin over orchestrator.switch.bans (docs/abuse.md). A node that cannot be read is
named in ``errors``; the bans of the others are listed all the same.
"""

from __future__ import annotations

from typing import Any

from apiflask import HTTPError, Schema, fields

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import resource_blueprint
from orchestrator.switch import bans
from webui.state import web_state

bp = resource_blueprint("api_bans", "Switch")


class BanOut(Schema):
    ip = fields.String(required=True, metadata={"description": "the banned source "
                                                "address", "example": "203.0.113.7"})
    node = fields.String(required=True, metadata={"description": "the switch node that "
                                                  "bans it (`local`: the one `make run` "
                                                  "starts)"})
    expires_at = fields.String(required=True, metadata={
        "format": "date-time", "description": "when the ban ends by itself, ISO 8601 UTC"})
    remaining_seconds = fields.Integer(required=True, metadata={
        "description": "seconds until the ban ends"})


class NodeErrorOut(Schema):
    node = fields.String(required=True)
    error = fields.String(required=True, metadata={"description": "why the node's bans "
                                                   "could not be read or lifted"})


class BanListOut(Schema):
    items = fields.List(fields.Nested(BanOut), required=True, metadata={
        "description": "bans in force, by address then node"})
    errors = fields.List(fields.Nested(NodeErrorOut), required=True, metadata={
        "description": "nodes that could not be read; empty when every node answered"})


class LiftedOut(Schema):
    ip = fields.String(required=True, metadata={"description": "the address, normalised"})
    nodes = fields.List(fields.String(), required=True, metadata={
        "description": "nodes that banned it and no longer do"})
    errors = fields.List(fields.Nested(NodeErrorOut), required=True, metadata={
        "description": "nodes that could not be asked (they may still ban it)"})


@bp.get("/switch/bans")
@api_auth("read")
@bp.output(BanListOut)
@bp.doc(summary="Banned source addresses", description="Addresses banned for flooding "
        "(more than `flood_requests` requests in `flood_window` seconds): every request "
        "from them is dropped without a reply until the ban ends (`ban_seconds` after "
        "it started) or is lifted. Known customer and carrier addresses are never "
        "banned.")
def get_bans(ctx: ApiContext) -> dict[str, Any]:
    return bans.list_bans(ctx.db, ctx.actor, web_state().settings)


@bp.delete("/switch/bans/<path:ip>")
@api_auth("write")
@bp.output(LiftedOut)
@bp.doc(summary="Lift a ban", description="Every node that bans the address stops "
        "banning it: its requests are answered again at once. An address that floods "
        "again is banned again.",
        responses={400: "Not an IP address", 404: "No node bans that address",
                   503: "No node that answered bans it, and some nodes did not answer"})
def delete_ban(ctx: ApiContext, ip: str) -> dict[str, Any]:
    try:
        return bans.lift(ctx.db, ctx.actor, web_state().settings, ip)
    except bans.NodesUnreachable as exc:
        raise HTTPError(503, str(exc)) from exc
