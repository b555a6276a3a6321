"""`orchestrator routes list|add|show|delete` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.audit.models import AuditEntry
from orchestrator.cli import cli
from orchestrator.db import make_engine, session_factory
from orchestrator.routing.models import IngressRoute
from tests.unit.routing.conftest import World


@pytest.fixture
def run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("ORCHESTRATOR_DATABASE_URL", db_url)
    monkeypatch.setenv("ORCHESTRATOR_VAR_DIR", str(tmp_path / "var"))

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["routes", *args])
    return invoke


@pytest.fixture
def saved(session: Session, world: World) -> World:
    session.commit()
    return world


def stored(db_url: str) -> list[tuple[int, str, str]]:
    engine = make_engine(db_url)
    with session_factory(engine)() as session:
        rows = [(r.id, r.tech_prefix, r.dial_string) for r in session.scalars(
            select(IngressRoute).order_by(IngressRoute.id))]
    engine.dispose()
    return rows


def test_add_list_show_delete(run: Any, saved: World, db_url: str, tmp_path: Path) -> None:
    dial = tmp_path / "dial.txt"
    dial.write_text("44\n^1(204|226)\n")
    added = run("add", "acme", "--tariff", "retail usd", "--tech-prefix", "0077",
                "--dial-string-file", str(dial), "--cps", "5", "--sip-ping", "both",
                "--exclude-card", str(saved.cards[1].id), "--strategy", "random", "--json")
    assert added.exit_code == 0, added.output
    route = json.loads(added.output)
    assert route["tariff_id"] == saved.tariff.id and route["tech_prefix"] == "0077"
    assert route["dial_string"] == "44\n^1(204|226)" and route["cps"] == 5
    assert route["exclude_cards"] == [saved.cards[1].id] and route["strategy"] == "random"
    second = run("add", str(saved.customer.id), "--tariff", str(saved.tariff.id),
                 "--priority", "2", "--disabled")
    assert second.exit_code == 0 and "created ingress route" in second.output

    listed = json.loads(run("list", "Acme", "--json").output)
    assert listed["total"] == 2 and listed["items"][0]["id"] == route["id"]
    assert listed["items"][1]["enabled"] is False
    table = run("list", "Acme")
    assert table.exit_code == 0 and "0077" in table.output and "2 route(s)" in table.output

    shown = run("show", str(route["id"]))
    assert shown.exit_code == 0 and "  ^1(204|226)" in shown.output
    assert json.loads(run("show", str(route["id"]), "--json").output) == route

    gone = run("delete", str(route["id"]))
    assert gone.exit_code == 0 and f"deleted ingress route {route['id']}" in gone.output
    assert [r[0] for r in stored(db_url)] == [route["id"] + 1]
    engine = make_engine(db_url)
    with session_factory(engine)() as session:
        actions = [e.action for e in session.scalars(select(AuditEntry).where(
            AuditEntry.object_type == "ingress_route").order_by(AuditEntry.id))]
        assert actions == ["create", "create", "delete"]
    engine.dispose()


def test_bad_dial_string_line_is_named_and_nothing_stored(run: Any, saved: World,
                                                          db_url: str,
                                                          tmp_path: Path) -> None:
    dial = tmp_path / "dial.txt"
    dial.write_text("44\n33\n^1(2\n")
    result = run("add", "Acme", "--tariff", str(saved.tariff.id), "--dial-string-file",
                 str(dial))
    assert result.exit_code == 1
    assert "dial_string: line 3:" in result.output
    assert stored(db_url) == []


def test_errors_as_json(run: Any, saved: World, db_url: str) -> None:
    both = run("add", "Acme", "--tariff", str(saved.tariff.id), "--lock-card",
               str(saved.cards[0].id), "--exclude-card", str(saved.cards[1].id), "--json")
    assert both.exit_code == 1
    assert sorted(json.loads(both.output)["errors"]) == ["exclude_cards", "lock_cards"]
    currency = run("add", "Acme", "--tariff", "Retail EUR", "--json")
    assert currency.exit_code == 1 and "EUR" in json.loads(currency.output)["errors"][
        "tariff_id"][0]
    unknown = run("add", "Acme", "--tariff", "no such card")
    assert unknown.exit_code == 1 and "no customer rate card named" in unknown.output
    assert stored(db_url) == []


def test_unknown_customer_and_route(run: Any, saved: World) -> None:
    missing = run("list", "Nobody")
    assert missing.exit_code == 1 and "customer 'Nobody' not found" in missing.output
    assert run("show", "4242").exit_code == 1
    gone = run("delete", "4242")
    assert gone.exit_code == 1 and "ingress route 4242 not found" in gone.output
