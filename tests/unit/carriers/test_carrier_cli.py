"""`orchestrator carriers ...` through click's CliRunner on a migrated database."""

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
def run(db_url: str) -> Any:
    def invoke(*args: str, stdin: str | None = None) -> Result:
        return CliRunner().invoke(cli, ["carriers", *args], input=stdin)
    return invoke


def parsed(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_add_with_gateways_then_show_and_list(run: Any, db_url: str) -> None:
    view = parsed(run("add", "--name", "Acme", "--currency", "usd", "--country", "gb",
                      "--channels", "100", "--gateway", "192.0.2.1",
                      "--gateway", "[2001:db8::1]:5080/tcp,weight=5",
                      "--gateway", "sbc.acme.example/tcp,enabled=no",
                      "--portal-password-stdin", "--json", stdin="pa55word\n"))
    assert (view["name"], view["currency"], view["channels"]) == ("Acme", "USD", 100)
    assert view["portal_password_set"] is True and "pa55word" not in json.dumps(view)
    assert [(g["host"], g["port"], g["transport"], g["weight"], g["enabled"])
            for g in view["gateways"]] == [("192.0.2.1", 5060, "udp", 1, True),
                                           ("2001:db8::1", 5080, "tcp", 5, True),
                                           ("sbc.acme.example", 5060, "tcp", 1, False)]
    shown = parsed(run("show", "acme", "--json"))
    assert shown["id"] == view["id"] and shown["balance"] == "0.00"
    listed = parsed(run("list", "-q", "acm", "--json"))
    assert listed["total"] == 1 and listed["items"][0]["name"] == "Acme"
    text = run("show", str(view["id"]))
    assert "[2001:db8::1]:5080/tcp weight 5" in text.output and "(disabled)" in text.output
    engine = make_engine(db_url)
    with session_factory(engine)() as session:
        entry = session.scalars(select(AuditEntry)).one()
    engine.dispose()
    assert entry.username.startswith("cli:") and entry.action == "create"


def test_bad_input_names_fields_and_exits_1(run: Any) -> None:
    result = run("add", "--name", "X", "--currency", "XYZ", "--cps", "-1",
                 "--gateway", "http://x", "--gateway", "a..b")
    assert result.exit_code == 1
    for expected in ("currency: 'XYZ' is not an ISO 4217", "cps: must be between",
                     "gateways[0].host: give the host only", "gateways[1].host"):
        assert expected in result.output
    assert "Traceback" not in result.output
    as_json = run("add", "--name", "X", "--currency", "XYZ", "--json")
    assert as_json.exit_code == 1
    assert list(json.loads(as_json.stdout)["errors"]) == ["currency"]
    assert parsed(run("list", "--json"))["total"] == 0


def test_duplicate_and_unknown(run: Any) -> None:
    assert run("add", "--name", "Acme", "--currency", "USD").exit_code == 0
    again = run("add", "--name", "ACME", "--currency", "USD", "--json")
    assert again.exit_code == 1
    assert "already exists" in json.loads(again.stdout)["errors"]["name"][0]
    missing = run("show", "nope")
    assert missing.exit_code == 1 and "carrier 'nope' not found" in missing.output
    bad_spec = run("add", "--name", "B", "--currency", "USD", "--gateway", "gw,colour=red")
    assert bad_spec.exit_code == 1 and "unknown option" in bad_spec.output


def test_unmigrated_database_is_a_clear_error(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_VAR_DIR", str(tmp_path / "empty"))
    result = CliRunner().invoke(cli, ["carriers", "list"])
    assert result.exit_code == 1 and "orchestrator db upgrade" in result.output


def test_import_csv(run: Any, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("Carrier;Cur;Channels;Gateways;City\n"
                    "Alpha;USD;10;192.0.2.1 gw.alpha.example/tcp;London\n"
                    "Beta;EUR;0;;Paris\n", encoding="utf-8")
    mapping = "name=Carrier,currency=Cur,gateways=Gateways"
    dry = parsed(run("import", str(good), "--map", mapping, "--dry-run", "--json"))
    assert dry == {"rows": 2, "dry_run": True, "created": []}
    assert parsed(run("list", "--json"))["total"] == 0
    done = parsed(run("import", str(good), "--map", mapping, "--json"))
    assert [c["name"] for c in done["created"]] == ["Alpha", "Beta"]
    alpha = parsed(run("show", "Alpha", "--json"))
    assert (alpha["channels"], alpha["city"]) == (10, "London")  # auto-mapped by header
    assert [g["host"] for g in alpha["gateways"]] == ["192.0.2.1", "gw.alpha.example"]


def test_import_is_all_or_nothing_naming_row_and_column(run: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("Carrier,Cur,Gateways\n"
                   "Fine,USD,192.0.2.1\n"
                   "Broken,XYZ,192.0.2.2\n"
                   "fine,USD,http://x\n", encoding="utf-8")
    result = run("import", str(bad), "--map", "name=Carrier,currency=Cur,gateways=Gateways",
                 "--json")
    assert result.exit_code == 1
    errors = json.loads(result.stdout)["errors"]
    assert set(errors) == {"row 3, column Cur", "row 4, column Carrier", "row 4, column Gateways"}
    assert "row 2" in errors["row 4, column Carrier"][0]
    assert "gateway 1" in errors["row 4, column Gateways"][0]
    assert parsed(run("list", "--json"))["total"] == 0
    text = run("import", str(bad), "--map", "name=Carrier,currency=Cur")
    assert text.exit_code == 1 and "row 3, column Cur: 'XYZ'" in text.output
    unmapped = run("import", str(bad), "--map", "name=Nope")
    assert unmapped.exit_code == 1 and "column 'Nope' is not in the header" in unmapped.output
