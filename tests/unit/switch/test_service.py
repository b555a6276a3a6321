"""orchestrator.switch.service and its jobs on a real model, without a Kamailio.

A successful apply is simulated at the node level (``apply.apply_snapshot`` /
``apply.rollback`` write the node's table file exactly as a real apply does, without
the reloads); tests/integration/test_switch_apply.py covers the real RPC path. The
failed apply below is the real code against a Kamailio port where nothing answers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.audit.models import AuditEntry
from orchestrator.compile import compiler
from orchestrator.compile.snapshot import Snapshot
from orchestrator.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from orchestrator.jobs import queue as jobqueue
from orchestrator.jobs.models import Job
from orchestrator.jobs.queue import JobContext, JobQueue
from orchestrator.jobs.runner import run_job
from orchestrator.routing import routes
from orchestrator.settings import Settings
from orchestrator.switch import apply, service, store, tasks
from orchestrator.switch.apply import ApplyReport, NodeResult
from orchestrator.switch.nodes import SwitchNode
from orchestrator.switch.tablefile import TariffSource as RowsSource
from orchestrator.switch.tablefile import (
    ensure_table_file,
    serving_generation,
    set_serving_generation,
    write_generation,
)
from tests.support.ports import free_port
from tests.unit.compile.test_compiler import party, route, tariff
from tests.unit.ratecards.cards_support import ADMIN, VIEWER
from tests.unit.routing import conftest as routing_db
from tests.unit.routing.conftest import OPERATOR

migrated_db, db_url = routing_db.migrated_db, routing_db.db_url


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(var_dir=tmp_path, database_url=db_url, rpc_port=free_port(),
                    media_zones={"us": "udp:10.0.0.6:2223"})


@pytest.fixture
def queue(settings: Settings) -> Iterator[JobQueue]:
    jobqueue.load_task_modules()
    yield jobqueue.configure(settings)
    jobqueue.reset()


@pytest.fixture
def session(queue: JobQueue) -> Iterator[Session]:
    with queue.sessions() as s:
        yield s


def fake_apply(nodes: Sequence[SwitchNode], snapshot: Snapshot, tariff_source: RowsSource,
               *, progress: Any = None) -> ApplyReport:
    """What a successful apply leaves on a node: the snapshot written and flipped to."""
    results = []
    for node in nodes:
        ensure_table_file(node.table_file)
        before = serving_generation(node.table_file)
        gen = 3 - before if before else 1
        write_generation(node.table_file, snapshot, gen, tariff_source)
        set_serving_generation(node.table_file, gen)
        results.append(NodeResult(node.name, ok=True, generation=gen, previous=before,
                                  timings={"total": 0.01}))
    if progress is not None:
        progress(100, "applied")
    return ApplyReport(snapshot.version, results)


def fake_rollback(nodes: Sequence[SwitchNode], target: Snapshot, tariff_source: RowsSource,
                  *, progress: Any = None) -> ApplyReport:
    return fake_apply(nodes, target, tariff_source, progress=progress)


@pytest.fixture
def switch_ok(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apply, "apply_snapshot", fake_apply)
    monkeypatch.setattr(apply, "rollback", fake_rollback)


def model(session: Session, zone: str = "auto") -> tuple[int, int]:
    """A customer, a tariff with an active revision and a route: (customer, route) ids."""
    card = tariff(session)
    owner = party(session, "Acme")
    made = route(session, owner, card, rtp_proxy=zone, name="Main")
    session.commit()
    return owner.id, made.id


def run(queue: JobQueue, job: Job) -> Job:
    """Run a queued job here, as the worker would; the job row afterwards."""
    run_job(queue, tasks.apply_job if job.kind == service.APPLY_KIND else tasks.rollback_job,
            job.id)
    with queue.sessions() as s:
        final = s.get(Job, job.id)
        assert final is not None
        s.expunge(final)
        return final


def apply_now(session: Session, queue: JobQueue, settings: Settings) -> Job:
    job = service.start_apply(session, ADMIN, settings)
    session.commit()
    return run(queue, job)


def audit_actions(session: Session) -> list[tuple[str, str]]:
    session.expire_all()
    return [(e.action, e.summary) for e in session.scalars(
        select(AuditEntry).where(AuditEntry.object_type == "switch").order_by(AuditEntry.id))]


def test_pending_flips_after_a_change_and_back_after_the_apply(
        session: Session, queue: JobQueue, settings: Settings, switch_ok: None) -> None:
    owner, route_id = model(session)
    before = service.pending(session, settings)
    assert before["pending"] and before["serving_version"] is None
    assert before["compiled_version"] and before["error"] is None

    done = apply_now(session, queue, settings)
    assert done.state == "done", done.message
    assert done.result is not None and done.result["version"] == before["compiled_version"]
    assert [n["node"] for n in done.result["nodes"]] == ["local"]
    assert done.result["nodes"][0]["timings"] == {"total": 0.01}
    after = service.pending(session, settings)
    assert after["pending"] is False
    assert after["serving_version"] == before["compiled_version"]
    assert [e.action for e in store.history(settings)] == ["apply"]
    assert audit_actions(session)[-1][0] == "apply"

    routes.update_route(session, ADMIN, owner, route_id, {"max_duration": 3600})
    session.commit()
    changed = service.pending(session, settings)
    assert changed["pending"] is True
    assert changed["compiled_version"] not in (None, before["compiled_version"])
    assert changed["serving_version"] == before["compiled_version"]


def test_pending_is_cached_until_the_audit_log_or_the_switch_moves(
        session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    service.clear_cache()
    model(session)
    calls: list[int] = []
    real = compiler.compile_snapshot

    def counting(session: Session, settings: Settings) -> Snapshot:
        calls.append(1)
        return real(session, settings)

    monkeypatch.setattr(service, "compile_snapshot", counting)
    first = service.pending(session, settings)
    assert service.pending(session, settings) == first and len(calls) == 1
    party(session, "Beta")  # any change writes an audit entry
    session.commit()
    service.pending(session, settings)
    assert len(calls) == 2


def test_a_model_with_problems_is_refused_before_any_job(
        session: Session, settings: Settings) -> None:
    _, route_id = model(session, zone="asia")
    with pytest.raises(ValidationFailed) as refused:
        service.start_apply(session, ADMIN, settings)
    [(place, messages)] = refused.value.errors.items()
    assert place == f"route {route_id} (Main) of customer Acme"
    assert "'asia' is not configured" in messages[0]
    assert session.scalars(select(Job)).all() == []
    found = service.pending(session, settings)
    assert found["pending"] and found["compiled_version"] is None
    assert found["error"] == refused.value.errors


def test_a_viewer_may_not_apply_or_roll_back(session: Session, settings: Settings) -> None:
    model(session)
    with pytest.raises(PermissionDenied):
        service.start_apply(session, VIEWER, settings)
    with pytest.raises(PermissionDenied):
        service.start_rollback(session, VIEWER, settings)
    assert session.scalars(select(Job)).all() == []


def test_start_apply_queues_a_job_with_the_compiled_version(
        session: Session, settings: Settings) -> None:
    model(session)
    job = service.start_apply(session, OPERATOR, settings)
    session.commit()
    stored = session.get(Job, job.id)
    assert stored is not None and (stored.kind, stored.state) == ("switch.apply", "queued")
    assert stored.params is not None
    assert stored.params["version"] == service.pending(session, settings)["compiled_version"]
    assert stored.params["actor"]["username"] == OPERATOR.username


def test_a_failed_apply_fails_the_job_and_says_what_still_serves(
        session: Session, queue: JobQueue, settings: Settings,
        monkeypatch: pytest.MonkeyPatch) -> None:
    owner, route_id = model(session)
    with monkeypatch.context() as patched:
        patched.setattr(apply, "apply_snapshot", fake_apply)
        first = apply_now(session, queue, settings)
    assert first.state == "done" and first.result is not None
    served = first.result["version"]
    # the real apply from here: nothing answers on the RPC port
    routes.update_route(session, ADMIN, owner, route_id, {"channels": 5})
    session.commit()
    failed = apply_now(session, queue, settings)
    assert failed.state == "failed"
    assert "not applied on local" in failed.message and "connection refused" in failed.message
    assert f"the previous snapshot {served[:12]} is still serving" in failed.message
    assert store.current_version(settings) == served
    assert [e.action for e in store.history(settings)] == ["apply"]
    assert audit_actions(session)[-1][0] == "apply_failed"
    assert service.pending(session, settings)["pending"] is True


def test_rollback_serves_the_previous_snapshot_and_records_it(
        session: Session, queue: JobQueue, settings: Settings, switch_ok: None) -> None:
    with pytest.raises(Conflict, match="no earlier snapshot"):
        service.start_rollback(session, ADMIN, settings)
    owner, route_id = model(session)
    a = apply_now(session, queue, settings).result
    routes.update_route(session, ADMIN, owner, route_id, {"cps": 3})
    session.commit()
    b = apply_now(session, queue, settings).result
    assert a and b and a["version"] != b["version"]

    job = service.start_rollback(session, ADMIN, settings)
    session.commit()
    assert job.params is not None and job.params["version"] == a["version"]
    done = run(queue, job)
    assert done.state == "done" and done.result is not None
    assert done.result["version"] == a["version"]
    assert store.current_version(settings) == a["version"]
    newest = store.history(settings)[0]
    assert (newest.action, newest.version) == ("rollback", a["version"])
    assert audit_actions(session)[-1][0] == "rollback"
    assert service.pending(session, settings)["pending"] is True  # the model is B

    entries = service.history(settings)
    assert [(e["version"], e["serving"], e["kept"]) for e in entries] == [
        (a["version"], True, False), (b["version"], False, True),
        (a["version"], True, False)]
    assert service.rollback_target(settings, b["version"][:8]).version == b["version"]


def test_rollback_targets_are_checked(session: Session, settings: Settings,
                                      switch_ok: None) -> None:
    with pytest.raises(ValidationFailed, match="hexadecimal"):
        service.rollback_target(settings, "../../etc")
    with pytest.raises(NotFound):
        service.rollback_target(settings, "abcdef")
    model(session)
    snap = compiler.compile_snapshot(session, settings)
    apply.apply_local(settings, snap, lambda ref: [], who="test")
    with pytest.raises(Conflict, match="already serving"):
        service.rollback_target(settings, snap.version[:10])


def test_status_reports_the_node_history_and_pending(session: Session, settings: Settings,
                                                     switch_ok: None) -> None:
    model(session)
    snap = compiler.compile_snapshot(session, settings)
    apply.apply_local(settings, snap, lambda ref: [], who="olivia")
    found = service.status(session, settings)
    [node] = found["nodes"]
    assert node["node"] == "local" and node["reachable"] is False
    assert node["serving_file"] == 1 and node["version"] == snap.version
    assert [(e["version"], e["who"], e["action"]) for e in found["history"]] == [
        (snap.version, "olivia", "apply")]
    assert found["pending"]["pending"] is False


def test_the_worker_loads_the_switch_jobs() -> None:
    assert "orchestrator.switch.tasks" in jobqueue.load_task_modules()
    assert {"switch.apply", "switch.rollback"} <= set(jobqueue.registered_kinds())


def test_job_context_progress_is_reported(session: Session, queue: JobQueue,
                                          settings: Settings, switch_ok: None) -> None:
    model(session)
    seen: list[tuple[float, str]] = []
    ctx = JobContext(settings, queue.sessions, 0, service.APPLY_KIND,
                     {"actor": {"username": "olivia", "role": "operator"}}, "olivia",
                     lambda p, m: seen.append((p, m)))
    result = tasks.apply_job.fn(ctx)
    assert result is not None and result["warnings"] == []
    assert seen[0] == (1, "compiling the model")
    assert seen[-1] == (100, "applied")
    assert [p for p, _ in seen] == sorted(p for p, _ in seen)
