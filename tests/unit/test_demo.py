"""`orchestrator demo`: the demo model compiles into a routable snapshot, twice = once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli import cli
from orchestrator.compile.compiler import compile_snapshot
from orchestrator.compile.tariffs import tariff_rows
from orchestrator.db import make_engine, session_factory, upgrade
from orchestrator.routing.explain import explain
from orchestrator.settings import Settings


def test_demo_model_routes_a_call_and_is_idempotent(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    upgrade(url)
    monkeypatch.setenv("ORCHESTRATOR_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("ORCHESTRATOR_DATABASE_URL", url)
    runner = CliRunner()
    first = runner.invoke(cli, ["demo", "--carrier-port", "5090", "--json"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(cli, ["demo", "--carrier-port", "5090", "--json"])
    assert json.loads(again.output) == json.loads(first.output)

    settings = Settings(var_dir=tmp_path, database_url=url)
    engine = make_engine(url)
    with session_factory(engine)() as session:
        snap = compile_snapshot(session, settings)
        trees = {ref.tree: dict(tariff_rows(session, ref, "USD").iter_rows())
                 for ref in snap.tariffs}
    engine.dispose()
    assert [g.uri for g in snap.gateways] == ["sip:127.0.0.1:5090"]
    assert snap.warnings == ()
    answer = explain(snap, trees, source_ip="127.0.0.1", source_port=5060,
                     dialled="442071838750")
    assert answer["verdict"] == "ok"
    assert (answer["tariff_prefix"], answer["sell_rate"]) == ("4420", "0.0088")
    assert explain(snap, trees, source_ip="127.0.0.1", source_port=5060,
                   dialled="861234")["verdict"] == "404 No Rate"
