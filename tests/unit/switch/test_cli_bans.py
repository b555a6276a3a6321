"""`orchestrator bans list|lift` when Kamailio does not answer (nothing on its RPC
port): the node is named with the reason and the exit code says it. The commands
against a real Kamailio: tests/integration/routing/test_abuse.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli import cli
from tests.support.ports import free_port
from tests.unit.ratecards import test_cli_ratecards as cli_ratecards

migrated_db = cli_ratecards.migrated_db


@pytest.fixture(autouse=True)
def no_kamailio(migrated_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(migrated_db, tmp_path / "orchestrator.db")
    monkeypatch.setenv("ORCHESTRATOR_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("ORCHESTRATOR_RPC_PORT", str(free_port()))


def test_help_says_what_gets_banned() -> None:
    result = CliRunner().invoke(cli, ["bans", "--help"])
    assert result.exit_code == 0
    assert "flood_requests" in result.output and "never banned" in result.output
    assert "lift" in result.output and "list" in result.output


def test_list_names_the_node_it_could_not_read() -> None:
    result = CliRunner().invoke(cli, ["bans", "list"])
    assert result.exit_code == 1
    assert "no address is banned on the nodes that answered" in result.stdout
    assert "warning: node local:" in result.stderr and "connection refused" in result.stderr
    as_json = CliRunner().invoke(cli, ["bans", "list", "--json"])
    assert as_json.exit_code == 1
    found = json.loads(as_json.stdout)
    assert found["items"] == [] and found["errors"][0]["node"] == "local"


def test_lift_says_why_nothing_was_lifted() -> None:
    down = CliRunner().invoke(cli, ["bans", "lift", "198.51.100.7"])
    assert down.exit_code == 1
    assert "198.51.100.7 is not banned on the nodes that answered" in down.output
    assert "local: " in down.output and "orchestrator stack up" in down.output
    bad = CliRunner().invoke(cli, ["bans", "lift", "198.51.100"])
    assert bad.exit_code == 1 and "'198.51.100' is not an IP address" in bad.output
