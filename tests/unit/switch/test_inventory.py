"""The switch node inventory: validation, the local node first, audit, CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.cli import cli
from orchestrator.db import make_engine, session_factory, upgrade
from orchestrator.errors import Conflict, PermissionDenied, ValidationFailed
from orchestrator.settings import Settings
from orchestrator.switch import inventory

ADMIN = Actor(1, "alice", "admin")
VIEWER = Actor(2, "victor", "viewer")
GOOD = {"name": "edge-2", "rpc_url": "http://10.0.0.5:5071/RPC",
        "table_file": "/srv/switch/edge-2/kamailio.db"}


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    upgrade(url)
    return url


@pytest.fixture
def session(url: str) -> Iterator[Session]:
    engine = make_engine(url)
    with session_factory(engine)() as s:
        yield s
    engine.dispose()


def test_local_node_first_then_enabled_nodes_by_name(session: Session, tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    inventory.add_node(session, ADMIN, GOOD | {"name": "zeta"})
    inventory.add_node(session, ADMIN, GOOD | {"name": "alpha"})
    inventory.add_node(session, ADMIN, GOOD | {"name": "off", "enabled": False})
    nodes = inventory.nodes(session, settings)
    assert [n.name for n in nodes] == ["local", "alpha", "zeta"]
    assert nodes[0].table_file == settings.switch_db
    assert str(nodes[1].table_file) == GOOD["table_file"]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", "local", "'local' is the node"),
    ("name", "-bad", "letters, digits"),
    ("rpc_url", "10.0.0.5:5071", "JSON-RPC URL"),
    ("rpc_url", "http://10.0.0.5/RPC", "JSON-RPC URL"),
    ("table_file", "relative/kamailio.db", "absolute path"),
    ("enabled", "yes", "true or false"),
    ("colour", "red", "unknown field"),
])
def test_bad_input_names_the_field_and_adds_nothing(session: Session, field: str,
                                                    value: object, message: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        inventory.add_node(session, ADMIN, GOOD | {field: value})
    assert message in " ".join(info.value.errors[field])
    assert inventory.list_nodes(session, ADMIN) == []


def test_names_are_unique_ignoring_case_and_viewers_cannot_add(session: Session) -> None:
    inventory.add_node(session, ADMIN, GOOD)
    with pytest.raises(Conflict, match="exists already"):
        inventory.add_node(session, ADMIN, GOOD | {"name": "EDGE-2"})
    with pytest.raises(PermissionDenied):
        inventory.add_node(session, VIEWER, GOOD | {"name": "other"})


def test_cli_add_list_remove(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("ORCHESTRATOR_DATABASE_URL", url)
    runner = CliRunner()
    added = runner.invoke(cli, ["nodes", "add", "edge-2", "--rpc-url", GOOD["rpc_url"],
                                "--table-file", GOOD["table_file"], "--json"])
    assert added.exit_code == 0, added.output
    node_id = json.loads(added.output)["id"]
    listed = json.loads(runner.invoke(cli, ["nodes", "list", "--json"]).output)
    assert [n["name"] for n in listed] == ["local", "edge-2"]
    bad = runner.invoke(cli, ["nodes", "add", "x", "--rpc-url", "nope",
                              "--table-file", "/x/kamailio.db"])
    assert bad.exit_code == 1 and "rpc_url" in bad.output
    assert runner.invoke(cli, ["nodes", "remove", str(node_id)]).exit_code == 0
    listed = json.loads(runner.invoke(cli, ["nodes", "list", "--json"]).output)
    assert [n["name"] for n in listed] == ["local"]
