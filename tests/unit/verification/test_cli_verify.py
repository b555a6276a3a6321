"""`orchestrator customers verify send|code|reset|status` through click's CliRunner, the
code delivered by a real SMTP server (aiosmtpd) through a real job consumer."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from orchestrator.actor import Actor
from orchestrator.cli import cli
from orchestrator.db import make_engine, session_factory, upgrade
from orchestrator.jobs import queue as jobqueue
from orchestrator.notify import config
from orchestrator.settings import Settings
from orchestrator.verification.models import VerificationCode
from tests.support.jobs import running_consumer
from tests.support.mail import Inbox, body_text, smtp_server

ADMIN = Actor(None, "test", "admin")


@pytest.fixture
def inbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    url = f"sqlite:///{tmp_path / 'orchestrator.db'}"
    upgrade(url)
    monkeypatch.setenv("ORCHESTRATOR_DATABASE_URL", url)
    monkeypatch.setenv("ORCHESTRATOR_VAR_DIR", str(tmp_path / "var"))
    settings = Settings()
    settings.ensure_dirs()
    engine = make_engine(url)
    with smtp_server() as server:
        with session_factory(engine).begin() as session:
            config.update_smtp(session, ADMIN, settings, {"host": "127.0.0.1",
                                                          "port": server.port})
        queue = jobqueue.configure(settings)
        jobqueue.load_task_modules()
        with running_consumer(queue):
            yield server
        jobqueue.reset()
    engine.dispose()


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["customers", *args])


def code_of(inbox: Inbox, count: int) -> str:
    messages = inbox.wait(count)
    assert len(messages) == count
    match = re.search(r"\b(\d{6})\b", body_text(messages[-1]))
    assert match
    return match.group(1)


def add_customer() -> int:
    added = run("add", "--name", "Acme", "--currency", "EUR", "--email", "noc@acme.example",
                "--mobile", "+44 7400 123456", "--verification-required", "--json")
    assert added.exit_code == 0, added.output
    return int(json.loads(added.output)["id"])


def test_send_then_enter_the_emailed_code(inbox: Inbox) -> None:
    cid = add_customer()
    sent = run("verify", "send", "acme", "email")
    assert sent.exit_code == 0, sent.output
    assert "code queued for noc@acme.example" in sent.output
    code = code_of(inbox, 1)
    status = run("verify", "status", str(cid))
    assert "email  noc@acme.example  not verified; code pending until" in status.output
    assert "5 attempts left" in status.output
    assert "calls refused until verified" in status.output
    wrong = run("verify", "code", str(cid), "email", f"{(int(code) + 1) % 10**6:06d}")
    assert wrong.exit_code == 1
    assert "code: wrong code, 4 attempts left" in wrong.output
    done = run("verify", "code", str(cid), "email", code, "--json")
    assert done.exit_code == 0, done.output
    state = json.loads(done.output)
    assert state["email_verified"] is True and state["mobile_verified"] is False
    url = Settings().db_url
    engine = make_engine(url)
    with session_factory(engine)() as session:  # the wrong entry was kept
        assert session.scalars(select(VerificationCode.attempts)).one() == 2
    engine.dispose()


def test_too_soon_unknown_channel_and_reset(inbox: Inbox) -> None:
    cid = add_customer()
    assert run("verify", "send", str(cid), "mobile").exit_code == 0
    again = run("verify", "send", str(cid), "mobile")
    assert again.exit_code == 1 and "wait" in again.output
    bad = run("verify", "send", str(cid), "fax")
    assert bad.exit_code == 2 and "'fax' is not one of 'email', 'mobile'" in bad.output
    missing = run("verify", "code", "nobody", "email", "123456")
    assert missing.exit_code == 1 and "customer 'nobody' not found" in missing.output
    reset = run("verify", "reset", str(cid), "--mobile")
    assert reset.exit_code == 0, reset.output
    assert "verification reset (mobile)" in reset.output
    expired = run("verify", "code", str(cid), "mobile", "123456")
    assert expired.exit_code == 1
    assert "the code has expired: send a new code" in expired.output
    data: dict[str, Any] = json.loads(run("verify", "status", str(cid), "--json").output)
    assert data["channels"]["mobile"]["code_expires_at"] is None
    assert data["needs_verification"] is True
