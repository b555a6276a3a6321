"""Background jobs of notifications: one email per job (loaded by the worker)."""

from __future__ import annotations

from typing import Any

# The credit push job lives with the credit code; importing it here registers it in
# the worker, which loads every ``orchestrator.<domain>.tasks`` module.
from orchestrator.billing import credit  # noqa: F401
from orchestrator.errors import ValidationFailed
from orchestrator.jobs.queue import JobContext, job_task
from orchestrator.notify.email import send_email


@job_task("notify.email")
def send_email_job(ctx: JobContext) -> dict[str, Any]:
    """params: ``to``, ``subject``, ``body`` (plain text)."""
    to, subject, body = (str(ctx.params.get(k, "")) for k in ("to", "subject", "body"))
    if not to:
        raise ValidationFailed.one("to", "no recipient address")
    ctx.report(10, f"sending to {to}")
    sent = send_email(ctx.settings, to, subject, body)
    return {"to": to, "sent": sent}
