"""Re-rating a period as a background job (REST ``POST /cdrs/rerate``, CLI
``orchestrator billing rerate``): checks the request, queues job ``billing.rerate``,
which runs ``rating.rerate`` batch by batch, committing each batch with its balance
deltas and reporting progress.

The worker registers the job by importing this module (orchestrator/billing/tasks.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.billing import rating
from orchestrator.jobs.models import Job
from orchestrator.jobs.queue import JobContext, job_task
from orchestrator.ratecards.imports import actor_from, actor_params
from orchestrator.ratecards.money import format_units

KIND = "billing.rerate"


def start_rerate(session: Session, actor: Actor, start: datetime | None, end: datetime | None,
                 customer_id: int | None = None) -> Job:
    """Check the period (``ValidationFailed``) and queue the job in ``session``'s
    transaction (it runs once that commits)."""
    actor.require("write")
    start, end = rating.check_period(session, start, end, customer_id)
    scope = f"customer {customer_id}" if customer_id is not None else "all customers"
    audit.record(session, actor, "rerate", "cdrs", None,
                 f"re-rating CDRs from {start.isoformat()} to {end.isoformat()} ({scope})",
                 after={"start": start.isoformat(), "end": end.isoformat(),
                        "customer_id": customer_id})
    return rerate_job.enqueue(actor, {"start": start.isoformat(), "end": end.isoformat(),
                                      "customer_id": customer_id,
                                      "actor": actor_params(actor)}, session=session)


@job_task(KIND)
def rerate_job(ctx: JobContext) -> dict[str, Any]:
    """Rate a period again; the result names the customers whose charges changed."""
    params = ctx.params
    actor_from(params)  # who asked (kept with the job's params)
    start, end = datetime.fromisoformat(params["start"]), datetime.fromisoformat(params["end"])
    customer_id: int | None = params.get("customer_id")
    settings = ctx.settings
    with ctx.sessions() as session:
        total = rating.count_period(session, start, end, customer_id)
        ctx.report(1, f"{total} CDR(s) to rate")

        def progress(seen: int) -> None:
            session.commit()  # each batch with its balance deltas
            ctx.report(min(99.0, 100.0 * seen / max(total, 1)), f"{seen} of {total} CDR(s)")

        result = rating.rerate(
            session, start, end, customer_id, progress=progress,
            jurisdictions=lambda: rating.default_jurisdictions(settings.var_dir),
            base_currency=settings.base_currency)
        session.commit()
    return {"rated": result.rated, "waiting": result.waiting,
            "customers": sorted(result.customers),
            "deltas": {str(c): format_units(d) for c, d in sorted(result.deltas.items())}}
