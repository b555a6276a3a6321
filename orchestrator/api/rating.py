"""/api/v1/cdrs/rerate: rate a period of CDRs again, as a background job."""

from __future__ import annotations

from typing import Any

from apiflask import Schema, fields
from apiflask.validators import Range

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import MAX_ID, resource_blueprint
from orchestrator.api.fields import UtcDateTime
from orchestrator.api.jobs import JobOut
from orchestrator.billing import rerating
from orchestrator.jobs.models import Job

bp = resource_blueprint("api_rating", "CDRs")
ACCEPTED = 202


class RerateIn(Schema):
    start = UtcDateTime(required=True, metadata={
        "description": "first start time included (ISO 8601; no offset = UTC)",
        "example": "2026-01-01T00:00:00Z"})
    end = UtcDateTime(required=True, metadata={
        "description": "first start time excluded: CDRs with start <= start_at < end",
        "example": "2026-02-01T00:00:00Z"})
    customer_id = fields.Integer(allow_none=True, validate=Range(min=1, max=MAX_ID), metadata={
        "description": "only this customer's CDRs (default: every customer)"})


@bp.post("/cdrs/rerate")
@api_auth("write")
@bp.input(RerateIn, arg_name="body")
@bp.output(JobOut, status_code=ACCEPTED)
@bp.doc(summary="Re-rate a period", description="Rates every CDR that started in "
        "[start, end) again, both sides, and moves the customers' balances by the "
        "difference. Answers 202 with the job; poll `GET /api/v1/jobs/{id}`: its result "
        "gives `rated`, `waiting` (CDRs missing an exchange rate), `customers` and "
        "`deltas` (customer id -> change of charges, customer currency). See "
        "docs/rating.md.", responses={422: "end not after start, unknown customer, bad time"})
def rerate(ctx: ApiContext, body: dict[str, Any]) -> tuple[Job, int]:
    return rerating.start_rerate(ctx.db, ctx.actor, body["start"], body["end"],
                                 body.get("customer_id")), ACCEPTED
