"""/api/v1/audit: who changed what and when (administrators only)."""

from __future__ import annotations

from typing import Any

from apiflask import Schema, fields
from apiflask.validators import Length

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import resource_blueprint
from orchestrator.api.fields import UtcDateTime
from orchestrator.api.listing import ListArgs, envelope, list_query, page_of
from orchestrator.audit import service

bp = resource_blueprint("audit", "Audit log")


class AuditOut(Schema):
    id = fields.Integer(required=True)
    at = UtcDateTime(required=True)
    user_id = fields.Integer(allow_none=True)
    username = fields.String(required=True)
    action = fields.String(required=True)
    object_type = fields.String(required=True)
    object_id = fields.Integer(allow_none=True)
    summary = fields.String(required=True)
    before = fields.Dict(allow_none=True, metadata={"description": "changed fields before; "
                                                    "secrets masked"})
    after = fields.Dict(allow_none=True, metadata={"description": "changed fields after"})


class AuditArgs(ListArgs):
    object_type = fields.String(validate=Length(max=40))
    username = fields.String(validate=Length(max=64))
    since = UtcDateTime(metadata={"description": "entries at or after (ISO 8601)"})
    until = UtcDateTime(metadata={"description": "entries before (ISO 8601)"})


@bp.get("/audit")
@api_auth("admin")
@bp.input(AuditArgs, location="query", arg_name="args")
@bp.output(page_of(AuditOut))
@bp.doc(summary="Search the audit log", description="Newest first by default; `q` "
        "searches summary, username and object type; sort by id, at, username.")
def list_audit(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    page = service.search(ctx.db, list_query(args), object_type=args.get("object_type"),
                          username=args.get("username"), since=args.get("since"),
                          until=args.get("until"))
    return envelope(page)
