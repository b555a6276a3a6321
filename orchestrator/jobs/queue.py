"""The job queue: huey (SQLite in ``var_dir/jobs.db``) runs the work, ``jobs`` reports it.

A domain declares its background work in ``orchestrator/<domain>/tasks.py`` (the
worker imports every such module, see :func:`load_task_modules`)::

    from orchestrator.jobs.queue import JobContext, RunContext, job_task, register_periodic

    @job_task("ratecards.import")
    def import_deck(ctx: JobContext) -> dict[str, Any]:
        ctx.report(10, "reading the file")   # progress 0-100 and a message
        with ctx.sessions.begin() as session: # the application database
            ...
        return {"rows": 1234}                 # JSON: stored as the job's result

    job = import_deck(actor, {"revision_id": 7})          # a Job row, state queued
    job = import_deck(actor, params, session=db())        # queued when that session commits

    def activate_due(ctx: RunContext) -> None: ...
    register_periodic("ratecards.activate", 30, activate_due)

Raising :class:`RetryLater` (delay, message) puts the job back in the queue to run again
after the delay (deliveries with backoff). Raising
:class:`~orchestrator.errors.ValidationFailed` fails the job with structured
errors (``[{"field": ..., "messages": [...]}]``); any other exception fails it with a
message (and a traceback in the worker's log).

Periodic work: huey's periodic tasks are checked once a minute, so a period below
60 s (it must divide 60) is a periodic task that fires every minute, runs the work
and schedules the remaining runs of that minute with huey's own scheduler
(``schedule(delay=k * seconds)``; the scheduler checks every second). A period of
60 s or more must be whole minutes. Runs of one periodic function never overlap
(a huey lock; a run that finds the previous one still going is skipped).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import logging
import pkgutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from huey import SqliteHuey
from huey.exceptions import TaskLockedException
from sqlalchemy import Engine, event, update
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.actor import Actor
from orchestrator.db import make_engine, session_factory
from orchestrator.db.types import utcnow
from orchestrator.jobs.models import Job
from orchestrator.jobs.runner import RetryLater
from orchestrator.settings import Settings

logger = logging.getLogger(__name__)

__all__ = ["JobContext", "JobHandle", "JobQueue", "RetryLater", "RunContext", "job_task",
           "register_periodic"]

HUEY_NAME = "orchestrator"
MAX_KIND_LENGTH = 40  # jobs.kind
JobResult = dict[str, Any] | None


@dataclass(frozen=True)
class RunContext:
    """What background code gets: the settings and sessions of the application database."""

    settings: Settings
    sessions: sessionmaker[Session]


@dataclass(frozen=True)
class JobContext(RunContext):
    """What a job function gets; ``report(percent, message)`` updates its progress."""

    job_id: int
    kind: str
    params: dict[str, Any]
    created_by: str
    report: Callable[[float, str], None]


JobFunction = Callable[[JobContext], JobResult]
PeriodicFunction = Callable[[RunContext], None]


class JobHandle:
    """What ``@job_task(kind)`` makes of a function: calling it enqueues a job."""

    def __init__(self, kind: str, fn: JobFunction) -> None:
        self.kind = kind
        self.fn = fn
        self.__doc__ = fn.__doc__

    def __call__(self, actor: Actor, params: dict[str, Any] | None = None, *,
                 session: Session | None = None) -> Job:
        return self.enqueue(actor, params, session=session)

    def enqueue(self, actor: Actor, params: dict[str, Any] | None = None, *,
                session: Session | None = None) -> Job:
        """Create the job (state ``queued``) and hand it to the worker.

        Without ``session`` the row is committed in its own transaction and queued at
        once. With ``session`` the row joins that transaction and is queued only when
        it commits (nothing is queued if it rolls back).
        """
        return current().enqueue(self.kind, actor, params, session=session)

    def __repr__(self) -> str:
        return f"<job {self.kind}: {getattr(self.fn, '__qualname__', self.fn)}>"


@dataclass(frozen=True)
class PeriodicSpec:
    name: str
    seconds: int
    fn: PeriodicFunction


_registry_lock = threading.RLock()
_jobs: dict[str, JobHandle] = {}
_periodics: dict[str, PeriodicSpec] = {}
_current: JobQueue | None = None


def job_task(kind: str) -> Callable[[JobFunction], JobHandle]:
    """Register ``fn(ctx: JobContext) -> dict | None`` as the job of ``kind``."""
    if not kind or len(kind) > MAX_KIND_LENGTH:
        raise ValueError(f"job kind must be 1-{MAX_KIND_LENGTH} characters: {kind!r}")

    def decorate(fn: JobFunction) -> JobHandle:
        handle = JobHandle(kind, fn)
        with _registry_lock:
            if kind in _jobs:
                raise ValueError(f"job kind {kind!r} is already registered")
            _jobs[kind] = handle
            if _current is not None:
                _current.bind_job(handle)
        return handle

    return decorate


def register_periodic(name: str, seconds: int, fn: PeriodicFunction) -> None:
    """Run ``fn(ctx: RunContext)`` every ``seconds`` in the worker.

    ``seconds`` divides 60 (1, 2, ..., 30) or is a whole number of minutes.
    """
    if seconds < 1 or (60 % seconds and seconds % 60):
        raise ValueError(f"periodic {name!r}: seconds must divide 60 or be a multiple of 60, "
                         f"not {seconds}")
    spec = PeriodicSpec(name, seconds, fn)
    with _registry_lock:
        if name in _periodics:
            raise ValueError(f"periodic {name!r} is already registered")
        _periodics[name] = spec
        if _current is not None:
            _current.bind_periodic(spec)


def registered_kinds() -> list[str]:
    with _registry_lock:
        return sorted(_jobs)


def load_task_modules() -> list[str]:
    """Import ``orchestrator.<domain>.tasks`` of every domain that has one."""
    import orchestrator

    loaded = []
    for info in pkgutil.iter_modules(orchestrator.__path__):
        if not info.ispkg:
            continue
        name = f"orchestrator.{info.name}.tasks"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
            loaded.append(name)
    return loaded


def _minute_every(minutes: int) -> Callable[[datetime], bool]:
    def due(timestamp: datetime) -> bool:
        return (timestamp.hour * 60 + timestamp.minute) % minutes == 0
    return due


class JobQueue:
    """The huey instance and the application database of one process."""

    def __init__(self, settings: Settings) -> None:
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        self.settings = settings
        self.path = settings.var_dir / "jobs.db"
        self.huey = SqliteHuey(HUEY_NAME, filename=str(self.path), results=False)
        self.engine: Engine = make_engine(settings.db_url)
        self.sessions = session_factory(self.engine)
        self._tasks: dict[str, Any] = {}
        self._in_flight: set[int] = set()
        self._in_flight_lock = threading.Lock()
        with _registry_lock:
            for handle in _jobs.values():
                self.bind_job(handle)
            for spec in _periodics.values():
                self.bind_periodic(spec)

    # huey registration -------------------------------------------------------------
    def bind_job(self, handle: JobHandle) -> None:
        from orchestrator.jobs.runner import run_job

        def execute(job_id: int) -> None:
            run_job(self, handle, job_id)

        self._tasks[handle.kind] = self.huey.task(name=f"job:{handle.kind}")(execute)

    def bind_periodic(self, spec: PeriodicSpec) -> None:
        lock = self.huey.lock_task(f"periodic:{spec.name}")

        def run_once() -> None:
            try:
                with lock:
                    spec.fn(RunContext(self.settings, self.sessions))
            except TaskLockedException:
                logger.info("periodic %s skipped: the previous run is still going", spec.name)
            except Exception:
                logger.exception("periodic %s failed", spec.name)

        later = self.huey.task(name=f"periodic-run:{spec.name}")(run_once)
        runs_per_minute = 60 // spec.seconds if spec.seconds < 60 else 1

        def tick() -> None:
            for k in range(1, runs_per_minute):
                later.schedule(delay=k * spec.seconds)
            run_once()

        self.huey.periodic_task(_minute_every(max(1, spec.seconds // 60)),
                                name=f"periodic:{spec.name}")(tick)

    # enqueueing --------------------------------------------------------------------
    def enqueue(self, kind: str, actor: Actor, params: dict[str, Any] | None = None, *,
                session: Session | None = None) -> Job:
        if kind not in self._tasks:
            raise LookupError(f"no job kind {kind!r}; known: {', '.join(registered_kinds())}")
        params = dict(params or {})
        json.dumps(params)  # refuse what the JSON column could not hold, here and now
        job = Job(kind=kind, state="queued", progress=0, message="queued", params=params,
                  created_by=actor.username[:64])
        if session is None:
            with self.sessions.begin() as own:
                own.add(job)
            self.submit(kind, job.id)
        else:
            session.add(job)
            session.flush()
            session.info.setdefault(_PENDING, []).append((self, kind, job.id))
        return job

    def submit(self, kind: str, job_id: int, *, delay: float | None = None) -> None:
        """Put a committed job on huey's queue (after ``delay`` seconds: huey's
        scheduler); if that fails, the job fails."""
        try:
            if delay:
                self._tasks[kind].schedule((job_id,), delay=delay)
            else:
                self._tasks[kind](job_id)
        except Exception as exc:
            logger.exception("job %s (%s) could not be queued", job_id, kind)
            with self.sessions.begin() as session:
                session.execute(update(Job).where(Job.id == job_id).values(
                    state="failed", message=f"could not be queued: {exc}",
                    finished_at=utcnow()))
            raise

    # what the worker needs ---------------------------------------------------------
    def started(self, job_id: int) -> None:
        with self._in_flight_lock:
            self._in_flight.add(job_id)

    def finished(self, job_id: int) -> None:
        with self._in_flight_lock:
            self._in_flight.discard(job_id)

    def fail_running(self, message: str, only_in_flight: bool) -> list[int]:
        """Mark running jobs failed (those of this process, or all): none is left running."""
        with self._in_flight_lock:
            mine = set(self._in_flight)
        with self.sessions.begin() as session:
            stmt = update(Job).where(Job.state == "running")
            if only_in_flight:
                stmt = stmt.where(Job.id.in_(mine))
            ids = list(session.scalars(stmt.values(
                state="failed", message=message, finished_at=utcnow()).returning(Job.id)))
        return sorted(ids)

    def close(self) -> None:
        self.engine.dispose()
        self.huey.storage.close()


_PENDING = "orchestrator.jobs.pending"


@event.listens_for(Session, "after_commit")
def _submit_pending(session: Session) -> None:
    for queue, kind, job_id in session.info.pop(_PENDING, []):
        with contextlib.suppress(Exception):  # logged and recorded on the job by submit()
            queue.submit(kind, job_id)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


def configure(settings: Settings) -> JobQueue:
    """Make the queue of these settings the process's current one (closing any other)."""
    global _current
    with _registry_lock:
        previous, _current = _current, JobQueue(settings)
        queue = _current
    if previous is not None:
        previous.close()
    return queue


def configured() -> JobQueue | None:
    """The process's queue if one was configured (``current()`` would build one)."""
    with _registry_lock:
        return _current


def current() -> JobQueue:
    """The process's queue, built from ``Settings()`` on first use."""
    with _registry_lock:
        queue = _current
    return queue if queue is not None else configure(Settings())


def reset() -> None:
    """Forget the current queue (tests)."""
    global _current
    with _registry_lock:
        previous, _current = _current, None
    if previous is not None:
        previous.close()
