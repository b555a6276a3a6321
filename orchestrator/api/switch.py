"""/api/v1/switch: pending changes, apply, rollback, node status and apply history.

Apply and rollback answer 202 with the job (poll ``GET /api/v1/jobs/{id}``). A model
the switch cannot run is refused with 422 before any job is queued; a node that fails
during the job keeps serving the previous snapshot and the job ends ``failed``.
"""

from __future__ import annotations

from typing import Any

from apiflask import Schema, fields
from apiflask.validators import Length, OneOf, Regexp

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import resource_blueprint
from orchestrator.api.jobs import JobOut
from orchestrator.jobs.models import Job
from orchestrator.switch import inventory, service
from webui.state import web_state

bp = resource_blueprint("api_switch", "Switch")
ACCEPTED = 202
ACTIONS = ("apply", "rollback")


def _nullable(field: type[fields.Field[Any]], description: str) -> Any:
    return field(required=True, allow_none=True, metadata={"description": description})


class PendingOut(Schema):
    compiled_version = _nullable(fields.String, "version of the model compiled now; null "
                                 "when the model cannot be compiled (see `error`)")
    serving_version = _nullable(fields.String, "version the local node serves; null "
                                "before the first apply")
    pending = fields.Boolean(required=True, metadata={
        "description": "the model has changes that are not on the switch yet"})
    warnings = fields.List(fields.String(), required=True, metadata={
        "description": "what the compiler left out, and why"})
    error = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                        required=True, allow_none=True, metadata={
                            "description": "why the model cannot be applied: "
                                           "{place: [messages]}; null when it can"})


class TreeOut(Schema):
    name = fields.String(required=True)
    items = fields.Integer(required=True)
    memsize = fields.Integer(required=True)
    reload_time = fields.Integer(required=True, metadata={
        "description": "unix time of the last load"})


class NodeOut(Schema):
    node = fields.String(required=True)
    reachable = fields.Boolean(required=True, metadata={
        "description": "Kamailio answered over JSON-RPC"})
    serving = _nullable(fields.Integer, "generation (1 or 2) new calls use, as Kamailio "
                        "says; null when unreachable or before the first apply")
    serving_file = _nullable(fields.Integer, "serving generation as the table file says "
                             "(what a restart comes back on)")
    version = _nullable(fields.String, "snapshot version of the serving generation")
    other_version = _nullable(fields.String, "snapshot version of the other generation "
                              "(a rollback to it is a flip)")
    trees = fields.List(fields.Nested(TreeOut), required=True, metadata={
        "description": "mtree trees loaded (ingress and tariff trees)"})
    error = fields.String(required=True, metadata={
        "description": "why Kamailio could not be read; empty when reachable"})


class HistoryOut(Schema):
    version = fields.String(required=True)
    at = fields.String(required=True, metadata={"format": "date-time",
                                                "description": "when, ISO 8601 UTC"})
    who = fields.String(required=True)
    action = fields.String(required=True, validate=OneOf(ACTIONS))
    kept = fields.Boolean(required=True, metadata={
        "description": "kept on disk and not serving: it can be rolled back to"})
    serving = fields.Boolean(required=True, metadata={
        "description": "the snapshot the local node serves"})


class HistoryItemOut(HistoryOut):
    """A history entry inside the status (its own class: a schema used both nested and
    on its own would be added to the document twice)."""


class HistoryListOut(Schema):
    items = fields.List(fields.Nested(HistoryOut), required=True)


class StatusOut(Schema):
    nodes = fields.List(fields.Nested(NodeOut), required=True)
    history = fields.List(fields.Nested(HistoryItemOut), required=True, metadata={
        "description": f"the last {service.HISTORY_SHOWN} applies and rollbacks, newest "
                       "first"})
    pending = fields.Nested(PendingOut, required=True)


class RollbackIn(Schema):
    version = fields.String(allow_none=True, validate=[
        Length(min=6, max=64), Regexp(service.VERSION.pattern)], metadata={
        "description": "a kept snapshot's version, or its first 6+ digits; omitted: the "
                       "newest kept snapshot other than the serving one",
        "example": "3f2a9c01b7de"})


@bp.get("/switch/status")
@api_auth("read")
@bp.output(StatusOut)
@bp.doc(summary="Switch status", description="Per node: reachable, serving generation "
        "and version, the other generation's version, loaded trees; the apply history; "
        "and whether the model has changes not on the switch yet.")
def get_status(ctx: ApiContext) -> dict[str, Any]:
    return service.status(ctx.db, web_state().settings)


@bp.get("/switch/history")
@api_auth("read")
@bp.output(HistoryListOut)
@bp.doc(summary="Apply history", description=f"The last {service.HISTORY_SHOWN} applies "
        "and rollbacks, newest first; `kept` ones can be rolled back to.")
def get_history(ctx: ApiContext) -> dict[str, Any]:
    return {"items": service.history(web_state().settings)}


@bp.post("/switch/apply")
@api_auth("write")
@bp.output(JobOut, status_code=ACCEPTED)
@bp.doc(summary="Apply the model to the switch", description="Compiles the model and "
        "queues the apply: every node gets the new snapshot written beside the serving "
        "one, reloaded, verified, then switched to. Answers 202 with the job; poll "
        "`GET /api/v1/jobs/{id}`. 422 names every problem of the model (nothing is "
        "queued). If a node fails, calls keep flowing on the previous snapshot and the "
        "job ends failed.",
        responses={422: "The model cannot be run by the switch: each problem named"})
def post_apply(ctx: ApiContext) -> tuple[Job, int]:
    return service.start_apply(ctx.db, ctx.actor, web_state().settings), ACCEPTED


@bp.post("/switch/rollback")
@api_auth("write")
@bp.input(RollbackIn, arg_name="body")
@bp.output(JobOut, status_code=ACCEPTED)
@bp.doc(summary="Roll back to a kept snapshot", description="Queues the rollback and "
        "answers 202 with the job. A flip when the other generation holds the target, "
        "else an apply of the kept snapshot.",
        responses={404: "That version is not kept",
                   409: "Nothing to roll back to, or the version already serves"})
def post_rollback(ctx: ApiContext, body: dict[str, Any]) -> tuple[Job, int]:
    return service.start_rollback(ctx.db, ctx.actor, web_state().settings,
                                  body.get("version")), ACCEPTED


class SwitchNodeIn(Schema):
    name = fields.String(required=True, validate=Length(min=1, max=64), metadata={
        "description": "letters, digits, '.', '_', '-'; not `local`", "example": "edge-2"})
    rpc_url = fields.String(required=True, validate=Length(min=1, max=255), metadata={
        "description": "the node's Kamailio JSON-RPC URL",
        "example": "http://10.0.0.5:5071/RPC"})
    table_file = fields.String(required=True, validate=Length(min=1, max=1000), metadata={
        "description": "absolute path of the node's switch table file as the control "
                       "plane reaches it", "example": "/srv/switch/edge-2/kamailio.db"})
    enabled = fields.Boolean(load_default=True)


class SwitchNodeOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    rpc_url = fields.String(required=True)
    table_file = fields.String(required=True)
    enabled = fields.Boolean(required=True)


class SwitchNodeItemOut(SwitchNodeOut):
    """A node inside the list (its own class, as HistoryItemOut)."""


class SwitchNodeListOut(Schema):
    items = fields.List(fields.Nested(SwitchNodeItemOut), required=True, metadata={
        "description": "the inventory; the local node is implicit and always first"})


@bp.get("/switch/nodes")
@api_auth("read")
@bp.output(SwitchNodeListOut)
@bp.doc(summary="Switch nodes", description="The nodes an apply goes to after the local "
        "node.")
def get_nodes(ctx: ApiContext) -> dict[str, Any]:
    return {"items": [inventory.node_to_dict(r)
                      for r in inventory.list_nodes(ctx.db, ctx.actor)]}


@bp.post("/switch/nodes")
@api_auth("write")
@bp.input(SwitchNodeIn, arg_name="body")
@bp.output(SwitchNodeOut, status_code=201)
@bp.doc(summary="Add a switch node", description="The next apply writes its table file "
        "and reloads its Kamailio.", responses={409: "A node with that name exists",
                                                422: "A field is invalid: named"})
def post_node(ctx: ApiContext, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    return inventory.node_to_dict(inventory.add_node(ctx.db, ctx.actor, body)), 201


@bp.delete("/switch/nodes/<int:node_id>")
@api_auth("write")
@bp.output({}, status_code=204)
@bp.doc(summary="Remove a switch node", responses={404: "No such node"})
def delete_node(ctx: ApiContext, node_id: int) -> tuple[str, int]:
    inventory.delete_node(ctx.db, ctx.actor, node_id)
    return "", 204
