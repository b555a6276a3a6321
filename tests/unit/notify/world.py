"""A notification world: a migrated database, the job queue with a real huey consumer,
and helpers to set the delivery settings, queue messages and wait for their fate.

Retries are fast here: ``notify_retry_seconds`` 0.2, ``notify_attempts`` 4.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orchestrator import secrets
from orchestrator.actor import Actor
from orchestrator.db import make_engine, session_factory, upgrade
from orchestrator.jobs import queue as jobqueue
from orchestrator.jobs.models import Job
from orchestrator.notify import config, outbox
from orchestrator.notify.models import Message
from orchestrator.settings import Settings
from tests.support.dataplane import test_settings
from tests.support.jobs import running_consumer

ADMIN = Actor(None, "test-admin", "admin")
ATTEMPTS = 4
RETRY_SECONDS = 0.2
FINAL = ("sent", "failed")


@dataclass
class World:
    settings: Settings
    sessions: sessionmaker[Session]
    queue: jobqueue.JobQueue

    def set_smtp(self, **values: Any) -> None:
        with self.sessions.begin() as session:
            config.update_smtp(session, ADMIN, self.settings, values)

    def set_sms(self, **values: Any) -> None:
        with self.sessions.begin() as session:
            config.update_sms(session, ADMIN, values)

    def email(self, to: str, subject: str, body: str, **options: Any) -> int:
        with self.sessions.begin() as session:
            return outbox.queue_email(session, ADMIN, to, subject, body, **options).id

    def sms(self, to: str, text: str) -> int:
        with self.sessions.begin() as session:
            return outbox.queue_sms(session, ADMIN, to, text).id

    def message(self, message_id: int) -> dict[str, Any]:
        with self.sessions() as session:
            row = session.get(Message, message_id)
            assert row is not None
            return outbox.message_to_dict(row)

    def job(self, job_id: int) -> Job:
        with self.sessions() as session:
            job = session.get(Job, job_id)
            assert job is not None
            session.expunge(job)
            return job

    def jobs(self) -> list[Job]:
        with self.sessions() as session:
            jobs = list(session.scalars(select(Job).where(Job.kind == "notify.deliver")))
            session.expunge_all()
            return jobs

    def wait(self, message_id: int, timeout: float = 30.0) -> dict[str, Any]:
        """The message once sent or failed, with its job finished too."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.message(message_id)
            job = self.job(found["job_id"])
            if found["status"] in FINAL and job.state in ("done", "failed"):
                return found
            assert time.monotonic() < deadline, f"still {found['status']}: {found}"
            time.sleep(0.05)


def make_world(template: Path, tmp_path: Path, **overrides: Any) -> Iterator[World]:
    settings = test_settings(tmp_path, notify_retry_seconds=RETRY_SECONDS,
                             notify_attempts=ATTEMPTS, **overrides)
    settings.ensure_dirs()
    shutil.copy(template, tmp_path / "orchestrator.db")
    secrets.configure(settings)
    engine = make_engine(settings.db_url)
    previous = jobqueue.configured()
    jobqueue.load_task_modules()
    queue = jobqueue.configure(settings)
    try:
        with running_consumer(queue):
            yield World(settings, session_factory(engine), queue)
    finally:
        engine.dispose()
        secrets.configure(None)
        if previous is not None:
            jobqueue.configure(previous.settings)


def migrated(path: Path) -> Path:
    upgrade(f"sqlite:///{path}")
    return path
