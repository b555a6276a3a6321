"""Running one job in the worker: queued -> running -> done | failed, with progress."""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.db.types import utcnow
from orchestrator.errors import Conflict, ServiceError, ValidationFailed
from orchestrator.jobs.models import Job

if TYPE_CHECKING:
    from orchestrator.jobs.queue import JobHandle, JobQueue

logger = logging.getLogger(__name__)

MAX_MESSAGE = 1000


class Reporter:
    """``report(percent, message)``: writes progress at most every ``interval`` seconds,
    or at once when the percentage moved by ``step`` or more since the last write.

    Each write is its own short transaction. Progress is advisory: a failed write is
    logged and the job goes on.
    """

    def __init__(self, sessions: sessionmaker[Session], job_id: int, *,
                 interval: float = 0.5, step: int = 5) -> None:
        self.sessions = sessions
        self.job_id = job_id
        self.interval = interval
        self.step = step
        self.percent = 0
        self.message = ""
        self.writes = 0
        self._written_at = time.monotonic()

    def __call__(self, percent: float, message: str = "") -> None:
        value = max(0, min(100, int(percent)))
        message = message[:MAX_MESSAGE]
        if value == self.percent and message == self.message:
            return
        now = time.monotonic()
        if abs(value - self.percent) < self.step and now - self._written_at < self.interval:
            return
        try:
            with self.sessions.begin() as session:
                session.execute(update(Job).where(Job.id == self.job_id,
                                                  Job.state == "running")
                                .values(progress=value, message=message))
        except SQLAlchemyError as exc:
            logger.warning("job %s: progress not recorded: %s", self.job_id, exc)
            return
        self.percent, self.message, self._written_at = value, message, now
        self.writes += 1


def structured_errors(exc: ServiceError) -> list[dict[str, Any]]:
    """``[{"field": ..., "messages": [...]}]``: a ValidationFailed keeps each field."""
    if isinstance(exc, ValidationFailed):
        return [{"field": field, "messages": list(messages)}
                for field, messages in exc.errors.items()]
    field = exc.field if isinstance(exc, Conflict) else ""
    return [{"field": field, "messages": [str(exc)]}]


def _finish(sessions: sessionmaker[Session], job_id: int, **values: Any) -> None:
    with sessions.begin() as session:
        session.execute(update(Job).where(Job.id == job_id)
                        .values(finished_at=utcnow(), **values))


def _start(sessions: sessionmaker[Session], job_id: int) -> Job | None:
    """Mark a queued job running; None when it is unknown or not queued any more."""
    with sessions.begin() as session:
        job = session.get(Job, job_id)
        if job is None:
            logger.warning("job %s does not exist (deleted, or another database)", job_id)
            return None
        if job.state != "queued":
            logger.warning("job %s is %s, not queued: not run again", job_id, job.state)
            return None
        job.state, job.started_at, job.message = "running", utcnow(), "running"
        return job


class RetryLater(Exception):
    """Raised by a job that should run again in ``delay`` seconds (same job row).

    The job goes back to ``queued`` with ``message``; huey's scheduler runs it again
    (it survives a worker restart: the schedule is in huey's SQLite file). The job
    itself counts its attempts (e.g. on its own rows) and gives up by raising
    anything else.
    """

    def __init__(self, delay: float, message: str) -> None:
        super().__init__(message)
        self.delay = max(0.0, delay)
        self.message = message


def _requeue(queue: JobQueue, handle: JobHandle, job_id: int, exc: RetryLater) -> None:
    with queue.sessions.begin() as session:
        session.execute(update(Job).where(Job.id == job_id).values(
            state="queued", message=exc.message[:MAX_MESSAGE]))
    try:
        queue.submit(handle.kind, job_id, delay=exc.delay)
    except Exception:  # submit() recorded the failure on the job
        logger.warning("job %s could not be scheduled again", job_id)


def run_job(queue: JobQueue, handle: JobHandle, job_id: int) -> None:
    """What the huey task of a job kind does with the job id it was given."""
    from orchestrator.jobs.queue import JobContext

    sessions = queue.sessions
    job = _start(sessions, job_id)
    if job is None:
        return
    queue.started(job_id)
    reporter = Reporter(sessions, job_id)
    ctx = JobContext(queue.settings, sessions, job_id, job.kind, dict(job.params or {}),
                     job.created_by, reporter)
    try:
        result = handle.fn(ctx)
        if result is not None and not isinstance(result, dict):
            raise TypeError(f"a job returns a dict or None, not {type(result).__name__}")
        json.dumps(result)
    except RetryLater as exc:
        logger.info("job %s (%s) runs again in %.1f s: %s", job_id, job.kind, exc.delay,
                    exc.message)
        _requeue(queue, handle, job_id, exc)
    except ValidationFailed as exc:
        logger.info("job %s (%s) refused: %s", job_id, job.kind, exc)
        _finish(sessions, job_id, state="failed", message=f"invalid input: {exc}"[:MAX_MESSAGE],
                errors=structured_errors(exc))
    except ServiceError as exc:
        logger.info("job %s (%s) refused: %s", job_id, job.kind, exc)
        _finish(sessions, job_id, state="failed", message=str(exc)[:MAX_MESSAGE],
                errors=structured_errors(exc))
    except Exception as exc:
        logger.exception("job %s (%s) failed", job_id, job.kind)
        _finish(sessions, job_id, state="failed",
                message=f"{type(exc).__name__}: {exc}"[:MAX_MESSAGE])
    else:
        _finish(sessions, job_id, state="done", progress=100, message="done", result=result)
        logger.info("job %s (%s) done", job_id, job.kind)
    finally:
        queue.finished(job_id)
