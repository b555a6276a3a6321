"""/api/v1/jobs: state, progress, result and errors of background jobs (read role)."""

from __future__ import annotations

from typing import Any

from apiflask import Schema, fields
from apiflask.validators import Length, OneOf

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import resource_blueprint
from orchestrator.api.fields import UtcDateTime
from orchestrator.api.listing import ListArgs, envelope, list_query, page_of
from orchestrator.jobs import service
from orchestrator.jobs.models import JOB_STATES, Job
from orchestrator.jobs.queue import MAX_KIND_LENGTH

bp = resource_blueprint("jobs", "Jobs")


class JobErrorOut(Schema):
    field = fields.String(required=True, metadata={"description": "the bad field or place "
                                                   "(e.g. `row 3, prefix`); empty: the job"})
    messages = fields.List(fields.String(), required=True)


class JobOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"example": "ratecards.import"})
    state = fields.String(required=True, metadata={"enum": list(JOB_STATES)})
    progress = fields.Integer(required=True, metadata={"description": "0-100"})
    message = fields.String(required=True, metadata={"description": "what it does now, or "
                                                     "why it failed"})
    params = fields.Dict(allow_none=True, metadata={"description": "what it was asked"})
    result = fields.Dict(allow_none=True, metadata={"description": "what it produced "
                                                    "(when done)"})
    errors = fields.List(fields.Nested(JobErrorOut), allow_none=True,
                         metadata={"description": "why it failed, per field (when the "
                                   "input was refused)"})
    created_by = fields.String(required=True)
    created_at = UtcDateTime(required=True)
    started_at = UtcDateTime(allow_none=True)
    finished_at = UtcDateTime(allow_none=True)


class JobListItemOut(JobOut):
    """A job in a list (its own class: the list's page is documented before the job, and
    one class used both nested and on its own would be added to the document twice)."""


class JobArgs(ListArgs):
    kind = fields.String(validate=Length(min=1, max=MAX_KIND_LENGTH),
                         metadata={"description": "only jobs of this kind"})
    state = fields.String(validate=OneOf(JOB_STATES),
                          metadata={"description": "only jobs in this state"})


@bp.get("/jobs/<int:job_id>")
@api_auth("read")
@bp.output(JobOut)
@bp.doc(summary="Get a job", description="Poll it until `state` is `done` or `failed`.")
def get_job(ctx: ApiContext, job_id: int) -> Job:
    return service.get_job(ctx.db, ctx.actor, job_id)


@bp.get("/jobs")
@api_auth("read")
@bp.input(JobArgs, location="query", arg_name="args")
@bp.output(page_of(JobListItemOut))
@bp.doc(summary="List jobs", description="Newest first by default; `q` searches kind, "
        "message and user; sort by id, kind, state, progress, created_at, started_at, "
        "finished_at.")
def list_jobs(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    page = service.list_jobs(ctx.db, ctx.actor, list_query(args), kind=args.get("kind"),
                             state=args.get("state"))
    return envelope(page)
