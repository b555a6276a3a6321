"""`orchestrator customers list|show|add|import` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from orchestrator.audit.models import AuditEntry
from orchestrator.cli import cli
from orchestrator.db import make_engine, session_factory


@pytest.fixture
def run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("ORCHESTRATOR_DATABASE_URL", db_url)
    monkeypatch.setenv("ORCHESTRATOR_VAR_DIR", str(tmp_path / "var"))

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["customers", *args])
    return invoke


def test_add_then_list_and_show_as_json(run: Any, db_url: str) -> None:
    added = run("add", "--name", "Acme", "--currency", "usd", "--channels", "30",
                "--address-line", "1 Main St", "--address-line", "Floor 2",
                "--portal-access", "--json")
    assert added.exit_code == 0, added.output
    customer = json.loads(added.output)
    assert customer["currency"] == "USD" and customer["channels"] == 30
    assert customer["address_lines"] == ["1 Main St", "Floor 2"]
    assert customer["portal_access"] is True
    listed = json.loads(run("list", "--json").output)
    assert listed["total"] == 1
    assert listed["items"][0]["name"] == "Acme" and listed["items"][0]["balance"] == "0"
    shown = json.loads(run("show", "acme", "--json").output)
    assert shown["id"] == customer["id"]
    assert (shown["ips"], shown["sip_users"], shown["payments"]) == ([], [], [])
    assert shown["credit_available"] == "0"
    engine = make_engine(db_url)
    with session_factory(engine)() as session:
        [entry] = session.scalars(select(AuditEntry))
        assert entry.username.startswith("cli:") and entry.action == "create"
    engine.dispose()


def test_list_text_output_searches(run: Any) -> None:
    run("add", "--name", "Alpha", "--currency", "EUR", "--city", "Oslo")
    run("add", "--name", "Bravo", "--currency", "EUR")
    result = run("list", "-q", "oslo")
    assert result.exit_code == 0
    assert "Alpha" in result.output and "Bravo" not in result.output
    assert "1 customers" in result.output


def test_bad_input_is_named_and_exits_1(run: Any) -> None:
    result = run("add", "--name", "Acme", "--currency", "XYZ", "--mobile", "0123")
    assert result.exit_code == 1
    assert "currency:" in result.output and "mobile:" in result.output
    assert "Traceback" not in result.output
    assert json.loads(run("list", "--json").output)["total"] == 0


def test_duplicate_and_unknown(run: Any) -> None:
    run("add", "--name", "Acme", "--currency", "USD")
    dup = run("add", "--name", "ACME", "--currency", "USD")
    assert dup.exit_code == 1 and "conflict: name:" in dup.output
    missing = run("show", "404")
    assert missing.exit_code == 1 and "customer 404 not found" in missing.output
    bad_sort = run("list", "--sort", "balance")
    assert bad_sort.exit_code == 1 and "sort:" in bad_sort.output


def test_import_dry_run_then_real(run: Any, tmp_path: Path) -> None:
    csv_file = tmp_path / "c.csv"
    csv_file.write_text("Company,Mail\nAcme,noc@acme.example\nBeta,ops@beta.example\n")
    args = ("import", str(csv_file), "--map", "name=Company,email=Mail",
            "--set", "currency=EUR")
    dry = run(*args, "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    preview = json.loads(dry.output)
    assert preview["rows"] == 2 and preview["created_ids"] == []
    assert preview["preview"][1] == {"name": "Beta", "email": "ops@beta.example"}
    assert json.loads(run("list", "--json").output)["total"] == 0
    real = run(*args, "--json")
    assert real.exit_code == 0, real.output
    assert len(json.loads(real.output)["created_ids"]) == 2
    assert json.loads(run("list", "--json").output)["total"] == 2


def test_import_bad_row_named_and_nothing_created(run: Any, tmp_path: Path) -> None:
    csv_file = tmp_path / "c.csv"
    csv_file.write_text("Company,Mail\nAcme,noc@acme.example\nBeta,broken\n")
    result = run("import", str(csv_file), "--map", "name=Company", "--map", "email=Mail",
                 "--set", "currency=EUR")
    assert result.exit_code == 1
    assert "row 3, column Mail:" in result.output
    assert json.loads(run("list", "--json").output)["total"] == 0
    bad_map = run("import", str(csv_file), "--map", "nameCompany")
    assert bad_map.exit_code == 2 and "KEY=VALUE" in bad_map.output


def test_unmigrated_database_is_a_clear_error(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = CliRunner().invoke(cli, ["customers", "list"])
    assert result.exit_code == 1
    assert "orchestrator db upgrade" in result.output
    assert "Traceback" not in result.output
