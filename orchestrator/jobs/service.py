"""Reading jobs for the interfaces: one job, a list, and waiting for one to finish."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.actor import Actor
from orchestrator.errors import NotFound, ValidationFailed
from orchestrator.jobs.models import JOB_STATES, Job
from orchestrator.listing import ListQuery, Page, paginate

MAX_ID = 2**63 - 1
FINISHED = ("done", "failed")


def get_job(session: Session, actor: Actor, job_id: int) -> Job:
    actor.require("read")
    job = session.get(Job, job_id) if 0 < job_id <= MAX_ID else None
    if job is None:
        raise NotFound("job", job_id)
    return job


def list_jobs(session: Session, actor: Actor, query: ListQuery, *, kind: str | None = None,
              state: str | None = None) -> Page[Job]:
    """Newest first by default; ``q`` searches kind, message and who started it."""
    actor.require("read")
    if state and state not in JOB_STATES:
        raise ValidationFailed.one("state", f"must be one of: {', '.join(JOB_STATES)}")
    stmt = select(Job)
    if kind:
        stmt = stmt.where(Job.kind == kind)
    if state:
        stmt = stmt.where(Job.state == state)
    return paginate(session, stmt, query, search=[Job.kind, Job.message, Job.created_by],
                    sortable={"id": Job.id, "kind": Job.kind, "state": Job.state,
                              "progress": Job.progress, "created_at": Job.created_at,
                              "started_at": Job.started_at, "finished_at": Job.finished_at},
                    default_sort="-id")


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def job_to_dict(job: Job) -> dict[str, Any]:
    return {
        "id": job.id, "kind": job.kind, "state": job.state, "progress": job.progress,
        "message": job.message, "params": job.params, "result": job.result,
        "errors": job.errors, "created_by": job.created_by,
        "created_at": _iso(job.created_at), "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
    }


def wait_for(sessions: sessionmaker[Session], job_id: int, timeout: float | None = None,
             on_progress: Callable[[Job], None] | None = None,
             poll: float = 0.2) -> Job:
    """Poll the job until it is done or failed and return it.

    ``on_progress(job)`` is called whenever state, progress or message changed.
    Raises NotFound for an unknown job and TimeoutError after ``timeout`` seconds.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    seen: tuple[str, int, str] | None = None
    while True:
        with sessions() as session:
            job = session.get(Job, job_id) if 0 < job_id <= MAX_ID else None
            if job is None:
                raise NotFound("job", job_id)
            session.expunge(job)
        now = (job.state, job.progress, job.message)
        if now != seen:
            seen = now
            if on_progress is not None:
                on_progress(job)
        if job.state in FINISHED:
            return job
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError(f"job {job_id} still {job.state} after {timeout} s")
        time.sleep(poll)
