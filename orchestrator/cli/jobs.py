"""`orchestrator jobs worker|list|show|follow`, and ``follow_job`` for commands that
start a job and wait for it."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.actor import SYSTEM
from orchestrator.cli.common import load_settings
from orchestrator.db import make_engine, session_factory
from orchestrator.errors import ServiceError
from orchestrator.jobs import service
from orchestrator.jobs.models import JOB_STATES, Job
from orchestrator.listing import MAX_PER_PAGE, ListQuery


@contextmanager
def _sessions() -> Iterator[sessionmaker[Session]]:
    engine = make_engine(load_settings().db_url)
    try:
        yield session_factory(engine)
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()


def _print_outcome(job: Job) -> None:
    if job.state == "done":
        click.echo(f"job {job.id} ({job.kind}) done")
        for key, value in (job.result or {}).items():
            click.echo(f"  {key}: {value if isinstance(value, str) else json.dumps(value)}")
        return
    click.echo(f"job {job.id} ({job.kind}) failed: {job.message}", err=True)
    for error in job.errors or []:
        field = error.get("field") if isinstance(error, dict) else None
        messages = error.get("messages", []) if isinstance(error, dict) else [str(error)]
        click.echo(f"  {field or '-'}: {' '.join(map(str, messages))}", err=True)


def _wait(sessions: sessionmaker[Session], job_id: int, timeout: float | None,
          on_progress: Callable[[Job], None]) -> Job:
    try:
        return service.wait_for(sessions, job_id, timeout, on_progress)
    except TimeoutError as exc:
        raise click.ClickException(str(exc)) from exc


def follow_job(job: Job, sessions: sessionmaker[Session] | None = None,
               timeout: float | None = None) -> Job:
    """Draw a progress bar until ``job`` is done, then print its result or its errors.

    When standard output is not a terminal, one line per change replaces the bar.

    Exits with code 1 (``click.exceptions.Exit``) when the job failed. Without
    ``sessions`` the database of the current settings is read.
    """
    if sessions is None:
        with _sessions() as own:
            return follow_job(job, own, timeout)
    if not sys.stdout.isatty():  # a log or a pipe: one line per change, no bar
        def log_line(current: Job) -> None:
            click.echo(f"job {job.id} {job.kind}: {current.state} {current.progress:>3}% "
                       f"{current.message}")
        final = _wait(sessions, job.id, timeout, log_line)
    else:
        shown = [0]
        with click.progressbar(length=100, label=f"job {job.id} {job.kind}", show_pos=False,
                               show_percent=True, width=30) as bar:
            def on_progress(current: Job) -> None:
                if current.progress > shown[0]:
                    bar.update(current.progress - shown[0])
                    shown[0] = current.progress
                bar.label = f"job {job.id} {job.kind}: {current.message}"[:70]

            final = _wait(sessions, job.id, timeout, on_progress)
            if final.state == "done" and shown[0] < 100:
                bar.update(100 - shown[0])
    _print_outcome(final)
    if final.state != "done":
        raise click.exceptions.Exit(1)
    return final


@click.group()
def jobs() -> None:
    """Background jobs: the worker that runs them, their state and progress."""


@jobs.command()
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Worker threads (default: the job_workers setting).")
def worker(workers: int | None) -> None:
    """Run queued and periodic jobs until SIGTERM (graceful) or Ctrl-C."""
    from orchestrator.jobs.queue import configure
    from orchestrator.jobs.worker import WorkerError, run_worker

    settings = load_settings()
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    queue = configure(settings)
    try:
        run_worker(queue, workers or settings.job_workers, click.echo)
    except WorkerError as exc:
        raise click.ClickException(str(exc)) from exc
    except OperationalError as exc:
        raise click.ClickException(f"the database is not ready ({exc.orig}); "
                                   "run `orchestrator db upgrade` first") from exc
    finally:
        queue.close()


@jobs.command("list")
@click.option("--kind", help="Only jobs of this kind (e.g. ratecards.import).")
@click.option("--state", type=click.Choice(JOB_STATES), help="Only jobs in this state.")
@click.option("--search", "q", default="", help="Search kind, message and user.")
@click.option("--limit", type=click.IntRange(1, MAX_PER_PAGE), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_(kind: str | None, state: str | None, q: str, limit: int, as_json: bool) -> None:
    """The newest jobs first."""
    with _sessions() as sessions, sessions() as session:
        page = service.list_jobs(session, SYSTEM, ListQuery(q=q, per_page=limit),
                                 kind=kind, state=state)
        rows = [service.job_to_dict(job) for job in page.items]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'ID':>6}  {'KIND':<24} {'STATE':<8} {'%':>4}  {'CREATED':<25} MESSAGE")
    for row in rows:
        click.echo(f"{row['id']:>6}  {row['kind']:<24} {row['state']:<8} "
                   f"{row['progress']:>4}  {row['created_at'] or '-':<25} {row['message']}")


def _show(row: dict[str, Any]) -> None:
    for key in ("id", "kind", "state", "progress", "message", "created_by", "created_at",
                "started_at", "finished_at"):
        click.echo(f"{key + ':':<13}{row[key] if row[key] is not None else '-'}")
    for key in ("params", "result", "errors"):
        if row[key]:
            click.echo(f"{key + ':':<13}{json.dumps(row[key])}")


@jobs.command()
@click.argument("job_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(job_id: int, as_json: bool) -> None:
    """State, progress, result and errors of one job."""
    with _sessions() as sessions, sessions() as session:
        row = service.job_to_dict(service.get_job(session, SYSTEM, job_id))
    if as_json:
        click.echo(json.dumps(row, indent=2))
    else:
        _show(row)


@jobs.command()
@click.argument("job_id", type=int)
@click.option("--timeout", type=float, default=None, help="Give up after this many seconds.")
def follow(job_id: int, timeout: float | None) -> None:
    """Show a job's progress until it ends; exit 1 if it failed."""
    with _sessions() as sessions:
        with sessions() as session:
            job = service.get_job(session, SYSTEM, job_id)
        follow_job(job, sessions, timeout)
