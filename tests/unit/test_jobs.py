"""Background jobs through a real huey consumer (thread workers) on a migrated SQLite DB."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from huey.consumer import Consumer
from sqlalchemy import select

from orchestrator.actor import Actor
from orchestrator.cli import cli
from orchestrator.cli.jobs import follow_job
from orchestrator.db import migrate
from orchestrator.errors import NotFound, ValidationFailed
from orchestrator.jobs import queue as jobqueue
from orchestrator.jobs import service
from orchestrator.jobs.models import Job
from orchestrator.jobs.queue import JobContext, JobQueue, RunContext, job_task, register_periodic
from orchestrator.jobs.runner import Reporter
from orchestrator.jobs.worker import WorkerError, single_worker
from orchestrator.listing import ListQuery
from orchestrator.settings import Settings
from tests.support.jobs import running_consumer

ROOT = Path(__file__).resolve().parents[2]
ALICE = Actor(1, "alice", "admin")
VIEWER = Actor(3, "vera", "viewer")

# What the test tasks below let a test observe and control.
gate = threading.Event()
entered = threading.Event()
ticks: list[Path] = []


@job_task("test.progress")
def progress_job(ctx: JobContext) -> dict[str, Any]:
    entered.set()
    assert gate.wait(10), "the test never opened the gate"
    for percent in range(0, 101, 20):
        ctx.report(percent, f"step {percent // 20}")
        time.sleep(0.01)
    with ctx.sessions() as session:  # tasks reach the application database
        jobs = session.scalar(select(Job.id).where(Job.id == ctx.job_id))
    return {"rows": ctx.params["rows"], "by": ctx.created_by, "seen_self": jobs == ctx.job_id}


@job_task("test.crash")
def crash_job(ctx: JobContext) -> None:
    ctx.report(40, "about to fail")
    raise RuntimeError("disk on fire")


@job_task("test.invalid")
def invalid_job(ctx: JobContext) -> None:
    raise ValidationFailed({"row 3, prefix": ["not digits: 44a"], "rate": ["below zero"]})


@job_task("test.not_a_dict")
def not_a_dict_job(ctx: JobContext) -> Any:
    return [1, 2]


def _tick(ctx: RunContext) -> None:
    ticks.append(ctx.settings.var_dir)


register_periodic("test.tick", 30, _tick)


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("jobs-template") / "orchestrator.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def settings(migrated_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    shutil.copy(migrated_db, tmp_path / "orchestrator.db")
    monkeypatch.setenv("ORCHESTRATOR_VAR_DIR", str(tmp_path))  # for the CLI's Settings()
    return Settings(var_dir=tmp_path)


@pytest.fixture
def queue(settings: Settings) -> Iterator[JobQueue]:
    gate.clear()
    entered.clear()
    ticks.clear()
    yield jobqueue.configure(settings)
    gate.set()  # never leave a task waiting
    jobqueue.reset()


@pytest.fixture
def consumer(queue: JobQueue) -> Iterator[Consumer]:
    """huey's consumer with one worker thread, in this process, on the test queue."""
    with running_consumer(queue) as worker:
        yield worker
        gate.set()  # never leave a task waiting while the consumer stops


def _row(queue: JobQueue, job_id: int) -> Job:
    with queue.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def _wait(queue: JobQueue, job_id: int, timeout: float = 15) -> Job:
    return service.wait_for(queue.sessions, job_id, timeout, poll=0.05)


def test_job_goes_queued_running_done_with_progress_and_result(queue: JobQueue,
                                                                consumer: Consumer) -> None:
    job = progress_job(ALICE, {"rows": 1234})
    assert (job.state, job.kind, job.progress, job.created_by) == (
        "queued", "test.progress", 0, "alice")
    assert entered.wait(10), "the worker never started the job"
    running = _row(queue, job.id)
    assert running.state == "running" and running.started_at is not None
    assert running.finished_at is None
    seen: list[tuple[str, int]] = []
    gate.set()
    final = service.wait_for(queue.sessions, job.id, 15,
                             lambda j: seen.append((j.state, j.progress)), poll=0.01)
    assert final.state == "done"
    assert final.progress == 100 and final.message == "done"
    assert final.result == {"rows": 1234, "by": "alice", "seen_self": True}
    assert final.errors is None
    assert final.started_at is not None and final.finished_at is not None
    assert final.finished_at >= final.started_at
    assert seen[0][0] == "running" and seen[-1] == ("done", 100)
    progress = [p for state, p in seen if state == "running"]
    assert progress == sorted(progress)


def test_a_crash_fails_the_job_with_its_message_and_a_logged_traceback(
        queue: JobQueue, consumer: Consumer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="orchestrator.jobs.runner")
    job = crash_job(ALICE)
    final = _wait(queue, job.id)
    assert final.state == "failed"
    assert final.message == "RuntimeError: disk on fire"
    assert final.result is None and final.errors is None
    assert final.finished_at is not None
    logged = [r for r in caplog.records if f"job {job.id} (test.crash) failed" in r.message]
    assert logged and logged[0].exc_info is not None


def test_validation_failed_becomes_structured_errors(queue: JobQueue,
                                                     consumer: Consumer) -> None:
    final = _wait(queue, invalid_job(ALICE, {"file": "deck.csv"}).id)
    assert final.state == "failed"
    assert final.message.startswith("invalid input: row 3, prefix: not digits: 44a")
    assert final.errors == [{"field": "row 3, prefix", "messages": ["not digits: 44a"]},
                            {"field": "rate", "messages": ["below zero"]}]
    assert final.params == {"file": "deck.csv"}


def test_a_result_that_is_not_a_dict_fails_the_job(queue: JobQueue,
                                                   consumer: Consumer) -> None:
    final = _wait(queue, not_a_dict_job(ALICE).id)
    assert final.state == "failed"
    assert "returns a dict or None, not list" in final.message


def test_periodic_function_runs_and_schedules_the_rest_of_its_minute(
        queue: JobQueue, consumer: Consumer, settings: Settings) -> None:
    deadline = time.monotonic() + 10
    while not ticks and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ticks == [settings.var_dir]
    # The second run of this minute waits in huey's schedule (the worker moves a task
    # with a future eta there when it dequeues it).
    def later_runs() -> list[Any]:  # other domains' periodics may be registered too
        return [t for t in queue.huey.scheduled() if t.name.startswith("periodic-run:test.")]

    while not later_runs() and time.monotonic() < deadline:
        time.sleep(0.05)
    later = later_runs()
    assert [task.name for task in later] == ["periodic-run:test.tick"]
    assert 15 < (later[0].eta - datetime.now(UTC).replace(tzinfo=None)).total_seconds() <= 30


def test_periodic_period_must_fit_minutes() -> None:
    with pytest.raises(ValueError, match="divide 60"):
        register_periodic("test.bad", 45, _tick)
    with pytest.raises(ValueError, match="already registered"):
        register_periodic("test.tick", 30, _tick)


def test_enqueue_in_a_session_queues_only_when_it_commits(queue: JobQueue) -> None:
    with queue.sessions() as session:
        job = progress_job(ALICE, {"rows": 1}, session=session)
        assert job.id is not None
        assert queue.huey.pending_count() == 0
        session.rollback()
    assert queue.huey.pending_count() == 0
    with queue.sessions() as session:
        assert session.get(Job, job.id) is None
        job = progress_job(ALICE, {"rows": 2}, session=session)
        assert queue.huey.pending_count() == 0
        session.commit()
    assert queue.huey.pending_count() == 1
    assert _row(queue, job.id).state == "queued"


def test_enqueue_refuses_params_json_cannot_hold(queue: JobQueue) -> None:
    with pytest.raises(TypeError):
        progress_job(ALICE, {"when": object()})
    with queue.sessions() as session:
        assert session.scalar(select(Job.id)) is None


def test_report_is_throttled(queue: JobQueue) -> None:
    with queue.sessions.begin() as session:
        job = Job(kind="test.progress", state="running", message="running")
        session.add(job)
    report = Reporter(queue.sessions, job.id, interval=0.3, step=5)
    report(3, "small step")  # under 5 % and within the interval: not written
    assert (report.writes, _row(queue, job.id).progress) == (0, 0)
    report(5, "five")  # a 5 % change is written at once
    assert (report.writes, _row(queue, job.id).progress) == (1, 5)
    report(6, "six")
    assert _row(queue, job.id).message == "five"
    time.sleep(0.35)
    report(7, "seven")  # the interval passed
    assert (report.writes, _row(queue, job.id).progress, _row(queue, job.id).message) == (
        2, 7, "seven")
    report(150, "")  # clamped
    assert _row(queue, job.id).progress == 100


def test_get_and_list_jobs(queue: JobQueue) -> None:
    with queue.sessions.begin() as session:
        session.add_all([Job(kind="a.one", state="done", message="imported"),
                         Job(kind="a.one", state="failed", message="bad deck"),
                         Job(kind="b.two", state="queued", message="queued")])
    with queue.sessions() as session:
        page = service.list_jobs(session, VIEWER, ListQuery())
        assert [j.kind for j in page.items] == ["b.two", "a.one", "a.one"]  # newest first
        page = service.list_jobs(session, VIEWER, ListQuery(), kind="a.one", state="failed")
        assert [j.message for j in page.items] == ["bad deck"]
        assert service.list_jobs(session, VIEWER, ListQuery(q="deck")).total == 1
        with pytest.raises(ValidationFailed, match="state"):
            service.list_jobs(session, VIEWER, ListQuery(), state="sleeping")
        with pytest.raises(NotFound, match="job 99 not found"):
            service.get_job(session, VIEWER, 99)
        as_dict = service.job_to_dict(service.get_job(session, VIEWER, 1))
    assert as_dict["kind"] == "a.one" and as_dict["created_at"].endswith("+00:00")


def test_cli_show_json_and_list(queue: JobQueue, consumer: Consumer) -> None:
    final = _wait(queue, invalid_job(ALICE).id)
    shown = CliRunner().invoke(cli, ["jobs", "show", str(final.id), "--json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert data["state"] == "failed" and data["kind"] == "test.invalid"
    assert data["errors"][1] == {"field": "rate", "messages": ["below zero"]}
    listed = CliRunner().invoke(cli, ["jobs", "list", "--state", "failed", "--json"])
    assert [row["id"] for row in json.loads(listed.output)] == [final.id]
    missing = CliRunner().invoke(cli, ["jobs", "show", "999"])
    assert missing.exit_code == 1 and "job 999 not found" in missing.output


def _follow_command(queue: JobQueue, job: Job) -> click.Command:
    @click.command()
    def follow() -> None:
        follow_job(job, queue.sessions, timeout=15)
    return follow


def test_follow_job_prints_the_result(queue: JobQueue, consumer: Consumer) -> None:
    job = progress_job(ALICE, {"rows": 77})
    opener = threading.Timer(0.6, gate.set)  # the job waits at the gate while followed
    opener.start()
    result = CliRunner().invoke(_follow_command(queue, job))
    opener.join()
    assert result.exit_code == 0, result.output
    assert f"job {job.id} (test.progress) done" in result.output
    assert "  rows: 77" in result.output and "  by: alice" in result.output
    assert f"job {job.id} test.progress: done 100% done" in result.output
    # no terminal, no bar: a line per change
    assert f"job {job.id} test.progress: running   0% running" in result.output


def test_follow_job_prints_errors_and_exits_1(queue: JobQueue, consumer: Consumer) -> None:
    job = invalid_job(ALICE)
    result = CliRunner().invoke(_follow_command(queue, job))
    assert result.exit_code == 1
    assert f"job {job.id} (test.invalid) failed: invalid input" in result.output
    assert "  row 3, prefix: not digits: 44a" in result.output


def test_worker_process_runs_jobs_and_stops_on_sigterm(queue: JobQueue,
                                                       settings: Settings) -> None:
    """`orchestrator jobs worker` as the stack runs it: heartbeat, a job, SIGTERM."""
    with queue.sessions.begin() as session:  # left running by a worker that died
        session.add(Job(kind="test.crash", state="running", message="running"))
    env = dict(os.environ, ORCHESTRATOR_VAR_DIR=str(settings.var_dir),
               PYTHONPATH=str(ROOT))
    # The test tasks live in this module: a wrapper imports them, then runs the CLI.
    code = ("import sys; import tests.unit.test_jobs; from orchestrator.cli import cli; "
            "cli(['jobs', 'worker', '--workers', '1'])")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        beat = settings.run_dir / "worker.heartbeat"
        deadline = time.monotonic() + 20
        while not beat.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert beat.exists(), proc.stdout.read() if proc.poll() is not None else "no beat"
        with pytest.raises(WorkerError, match="another worker already runs"), \
                single_worker(settings):
            pass  # a second worker (this process) is refused
        gate.set()  # not used by the other process: crash_job needs no gate
        final = _wait(queue, crash_job(ALICE).id, timeout=20)
        assert final.message == "RuntimeError: disk on fire"
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output
    assert "marked failed, left running by a previous worker: [1]" in output
    assert "worker stopped" in output
    assert not (settings.run_dir / "worker.heartbeat").exists()
    assert _row(queue, 1).state == "failed"


def test_worker_on_an_unmigrated_database_says_what_to_do(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_VAR_DIR", str(tmp_path))
    try:
        result = CliRunner().invoke(cli, ["jobs", "worker"])
    finally:
        jobqueue.reset()
    assert result.exit_code == 1
    assert "run `orchestrator db upgrade` first" in result.output
    assert not (tmp_path / "run" / "worker.heartbeat").exists()
