"""`orchestrator explain`: readable and JSON answers over the applied snapshot, clear
errors for bad input and before any apply."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli import cli
from orchestrator.settings import Settings
from tests.unit.routing.test_explain_sample import install

UK = "447700900123"


@pytest.fixture
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ORCHESTRATOR_VAR_DIR", str(tmp_path))
    return tmp_path


def test_before_any_apply_says_so(var_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["explain", "--source-ip", "192.0.2.10",
                                      "--dialled", UK])
    assert result.exit_code == 1
    assert "nothing has been applied to the switch yet: apply first" in result.output


def test_readable_explanation(var_dir: Path) -> None:
    install(Settings(var_dir=var_dir))
    result = CliRunner().invoke(cli, ["explain", "--source-ip", "192.0.2.10",
                                      "--source-port", "5060", "--dialled", "991" + UK])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["verdict", "ok"]
    assert "customer    1 (Alpha)" in lines
    assert "tariff      prefix 44, sells 0.02 EUR/min" in lines
    assert any(line.split()[:2] == ["2", "2"] and line.endswith(
        "not in the route's locked cards") for line in lines)
    assert "order       1" in lines
    assert "media       direct (relaxed)" in lines


def test_json_and_refusal(var_dir: Path) -> None:
    install(Settings(var_dir=var_dir))
    result = CliRunner().invoke(cli, ["explain", "--source-ip", "10.0.0.1", "--dialled",
                                      UK, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["verdict"] == "403 IP Not Authorised"
    assert "source_port not given: 5060 assumed" in data["notes"]


def test_bad_input_names_the_field(var_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["explain", "--source-ip", "nope", "--dialled", "4x"])
    assert result.exit_code == 1
    assert "source_ip:" in result.output and "dialled:" in result.output
    as_json = CliRunner().invoke(cli, ["explain", "--source-ip", "nope", "--dialled", "4",
                                       "--json"])
    assert as_json.exit_code == 1
    assert list(json.loads(as_json.output)["errors"]) == ["source_ip"]
