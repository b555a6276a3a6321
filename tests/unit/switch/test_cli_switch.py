"""`orchestrator apply|status|rollback`: no worker runs, so each job runs in the
command's own process (the fallback); a successful apply is simulated at the node
level (tests/unit/switch/test_service.py ``fake_apply``)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.cli import cli
from orchestrator.db import make_engine, session_factory
from orchestrator.jobs.models import Job
from orchestrator.routing import routes
from orchestrator.switch import apply
from tests.support.ports import free_port
from tests.unit.ratecards import test_cli_ratecards as cli_ratecards
from tests.unit.ratecards.cards_support import ADMIN
from tests.unit.switch import test_service
from tests.unit.switch.test_service import fake_apply, model

migrated_db, switch_ok = cli_ratecards.migrated_db, test_service.switch_ok


@pytest.fixture
def session(migrated_db: Path, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    shutil.copy(migrated_db, tmp_path / "orchestrator.db")
    monkeypatch.setenv("ORCHESTRATOR_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("ORCHESTRATOR_RPC_PORT", str(free_port()))  # no Kamailio there
    engine = make_engine(f"sqlite:///{tmp_path / 'orchestrator.db'}")
    with session_factory(engine)() as s:
        yield s
    engine.dispose()


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def status_json() -> dict[str, object]:
    result = invoke("status", "--json")
    assert result.exit_code == 0, result.output
    found: dict[str, object] = json.loads(result.stdout)
    return found


def test_status_apply_status_rollback(session: Session, switch_ok: None) -> None:
    owner, route_id = model(session)
    text = invoke("status")
    assert text.exit_code == 0, text.output
    assert "node local: DOWN" in text.output
    assert "pending: yes" in text.output and "history: nothing applied yet" in text.output
    before = status_json()
    pending = before["pending"]
    assert isinstance(pending, dict) and pending["pending"] is True

    applied = invoke("apply")
    assert applied.exit_code == 0, applied.output
    assert "(switch.apply) done" in applied.output
    assert f"version: {pending['compiled_version']}" in applied.output
    after = status_json()
    assert after["pending"] == {**pending, "pending": False,
                                "serving_version": pending["compiled_version"]}
    assert "pending: no" in invoke("status").output

    nothing = invoke("rollback")
    assert nothing.exit_code == 1 and "no earlier snapshot" in nothing.output

    routes.update_route(session, ADMIN, owner, route_id, {"channels": 9})
    session.commit()
    second = invoke("apply", "--json")
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout)["state"] == "done"
    back = invoke("rollback", str(pending["compiled_version"])[:10])
    assert back.exit_code == 0, back.output
    assert "(switch.rollback) done" in back.output
    history = status_json()["history"]
    assert isinstance(history, list)
    assert [(h["action"], h["version"] == pending["compiled_version"]) for h in history] == [
        ("rollback", True), ("apply", False), ("apply", True)]


def test_a_failed_apply_exits_1_and_says_the_previous_snapshot_serves(
        session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    owner, route_id = model(session)
    with monkeypatch.context() as patched:
        patched.setattr(apply, "apply_snapshot", fake_apply)
        assert invoke("apply").exit_code == 0
    first = status_json()["pending"]
    assert isinstance(first, dict)
    # the real apply from here: nothing answers on the RPC port
    routes.update_route(session, ADMIN, owner, route_id, {"cps": 2})
    session.commit()
    failed = invoke("apply")
    assert failed.exit_code == 1
    assert "failed: snapshot" in failed.output and "connection refused" in failed.output
    assert (f"the previous snapshot {str(first['serving_version'])[:12]} is still serving"
            in failed.output)


def test_a_model_with_problems_is_refused_and_nothing_is_queued(session: Session) -> None:
    _, route_id = model(session, zone="asia")
    refused = invoke("apply")
    assert refused.exit_code == 1
    assert f"route {route_id} (Main) of customer Acme" in refused.output
    assert "'asia' is not configured" in refused.output
    as_json = invoke("apply", "--json")
    assert as_json.exit_code == 1
    assert list(json.loads(as_json.stdout)["errors"]) == [
        f"route {route_id} (Main) of customer Acme"]
    assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_no_wait_only_queues(session: Session) -> None:
    model(session)
    queued = invoke("apply", "--no-wait", "--json")
    assert queued.exit_code == 0, queued.output
    job_id = json.loads(queued.stdout)["job"]
    job = session.get(Job, job_id)
    assert job is not None and (job.kind, job.state) == ("switch.apply", "queued")


@pytest.mark.parametrize(("command", "words"), [
    ("apply", ("Compile the model", "calls keep flowing on the previous snapshot",
               "--no-wait")),
    ("rollback", ("VERSION", "earlier snapshot", "keeps serving")),
    ("status", ("What each switch node serves", "--json"))])
def test_help_explains(command: str, words: tuple[str, ...]) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for word in words:
        assert word in text, (word, text)
