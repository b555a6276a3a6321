"""`orchestrator users create|list|passwd` on the user service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli import cli
from orchestrator.db import make_engine, session_factory
from orchestrator.users import service


@pytest.fixture
def var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ORCHESTRATOR_VAR_DIR", str(tmp_path))
    assert CliRunner().invoke(cli, ["db", "upgrade"]).exit_code == 0
    return tmp_path


def _authenticates(var: Path, username: str, password: str) -> bool:
    engine = make_engine(f"sqlite:///{var / 'orchestrator.db'}")
    try:
        with session_factory(engine)() as session:
            return service.authenticate(session, username, password) is not None
    finally:
        engine.dispose()


def test_create_from_stdin_and_prompt_then_list_json(var: Path) -> None:
    piped = CliRunner().invoke(cli, ["users", "create", "ops", "--role", "operator",
                                     "--password-stdin"], input="piped password 1\n")
    assert piped.exit_code == 0, piped.output
    assert "piped password" not in piped.output
    prompted = CliRunner().invoke(cli, ["users", "create", "viv", "--role", "viewer"],
                                  input="prompted password\nprompted password\n")
    assert prompted.exit_code == 0, prompted.output
    assert _authenticates(var, "ops", "piped password 1")
    assert _authenticates(var, "viv", "prompted password")
    listed = CliRunner().invoke(cli, ["users", "list", "--json"])
    rows = json.loads(listed.output)
    assert [(r["username"], r["role"]) for r in rows] == [("ops", "operator"),
                                                         ("viv", "viewer")]
    table = CliRunner().invoke(cli, ["users", "list"])
    assert "ops" in table.output and "operator" in table.output


def test_passwd_and_its_alias(var: Path) -> None:
    CliRunner().invoke(cli, ["users", "create", "ann", "--password-stdin"],
                       input="first password\n")
    for command, password in (("passwd", "second password"), ("set-password", "third pass!")):
        result = CliRunner().invoke(cli, ["users", command, "ann", "--password-stdin"],
                                    input=password + "\n")
        assert result.exit_code == 0, result.output
        assert _authenticates(var, "ann", password)
    unknown = CliRunner().invoke(cli, ["users", "passwd", "nobody", "--password-stdin"],
                                 input="whatever password\n")
    assert unknown.exit_code == 1 and "not found" in unknown.output
    short = CliRunner().invoke(cli, ["users", "passwd", "ann", "--password-stdin"],
                               input="short\n")
    assert short.exit_code == 1 and "password: must be at least" in short.output
