"""The CLI explains itself and turns bad settings into a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli import cli


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("stack", "config", "db", "users", "web"):
        assert command in result.output
    stack = CliRunner().invoke(cli, ["stack", "--help"])
    assert all(word in stack.output for word in ("up", "down", "status"))


def test_bad_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_SIP_PORT", "not-a-port")
    result = CliRunner().invoke(cli, ["config", "show"])
    assert result.exit_code == 1
    assert "invalid settings" in result.output
    assert "sip_port" in result.output
    assert "Traceback" not in result.output


def test_config_render_writes_checked_files(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_VAR_DIR", str(tmp_path))
    result = CliRunner().invoke(cli, ["config", "render"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "etc" / "kamailio.cfg").read_text().startswith("#!KAMAILIO")
    assert "listen-ng" in (tmp_path / "etc" / "rtpengine.conf").read_text()


def test_users_create_refuses_short_password(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_VAR_DIR", str(tmp_path))
    assert CliRunner().invoke(cli, ["db", "upgrade"]).exit_code == 0
    bad = CliRunner().invoke(cli, ["users", "create", "bob", "--password", "short"])
    assert bad.exit_code == 1 and "password: must be at least" in bad.output
    good = CliRunner().invoke(cli, ["users", "create", "bob", "--role", "viewer",
                                    "--password", "a long password"])
    assert good.exit_code == 0 and "created viewer bob" in good.output
    again = CliRunner().invoke(cli, ["users", "create", "bob", "--password", "a long password"])
    assert again.exit_code == 1 and "already exists" in again.output
