"""`orchestrator ratecards`: import with a guessed or given mapping, show, export, build.

No worker runs, so each job runs in the command's own process (the fallback)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.actor import Actor
from orchestrator.carriers import service as carriers
from orchestrator.cli import cli
from orchestrator.db import make_engine, migrate, session_factory
from orchestrator.ratecards import customer_cards, provider_cards

ADMIN = Actor(None, "alice", "admin")


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-ratecards") / "orchestrator.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def var(migrated_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(migrated_db, tmp_path / "orchestrator.db")
    monkeypatch.setenv("ORCHESTRATOR_VAR_DIR", str(tmp_path))
    engine = make_engine(f"sqlite:///{tmp_path / 'orchestrator.db'}")
    with session_factory(engine).begin() as session:
        carrier = carriers.create_carrier(session, ADMIN, {"name": "Acme", "currency": "USD"})
        card = provider_cards.create_provider_card(
            session, ADMIN, {"name": "Acme Z", "carrier_id": carrier.id, "currency": "USD"})
        customer_cards.create_customer_card(session, ADMIN, {
            "name": "Retail", "currency": "USD", "parents": [{"provider_card_id": card.id}]})
    engine.dispose()
    return tmp_path


def test_import_guessing_the_mapping_then_show_export_and_build(var: Path) -> None:
    deck = var / "deck.csv"
    deck.write_text("Prefix\tDestination\tRate\tBilling\n"
                    "44\tUK\t0.0100\t60/60\n4420\tLondon\t0.0080\t1/1\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["ratecards", "import", "Acme Z", str(deck), "--activate"])
    assert result.exit_code == 0, result.output
    assert "rows: 2" in result.output

    shown = runner.invoke(cli, ["ratecards", "show", "Acme Z", "--json"])
    assert shown.exit_code == 0, shown.output
    info = json.loads(shown.stdout)
    assert [(r["number"], r["state"], r["row_count"]) for r in info["revisions"]] == [
        (1, "active", 2)]

    out = var / "export.csv"
    exported = runner.invoke(cli, ["ratecards", "export", "Acme Z", "-o", str(out)])
    assert exported.exit_code == 0, exported.output
    lines = out.read_text().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["44", "4420"]
    assert lines[1].split(",")[5:7] == ["60", "60"]  # mcd, pulse of "60/60"

    built = runner.invoke(cli, ["ratecards", "build", "Retail", "--activate", "--json"])
    assert built.exit_code == 0, built.output
    job = json.loads(built.stdout)
    assert job["state"] == "done" and job["result"]["built"][0]["rows"] == 2
    listed = runner.invoke(cli, ["ratecards", "list", "--kind", "customer", "--json"])
    assert json.loads(listed.output)[0]["active_revision"] == 1


def test_bad_deck_exits_1_naming_the_row(var: Path) -> None:
    deck = var / "bad.csv"
    deck.write_text("code,rate\n44,0.01\n44,abc\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["ratecards", "import", "Acme Z", str(deck),
                                      "--map", "prefix=code", "--map", "rate=#1"])
    assert result.exit_code == 1
    assert "row 3, rate" in result.output
    shown = CliRunner().invoke(cli, ["ratecards", "show", "Acme Z", "--json"])
    assert json.loads(shown.output)["revisions"] == []


def test_usage_errors(var: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["ratecards", "build"]).exit_code == 2
    bad_map = runner.invoke(cli, ["ratecards", "import", "Acme Z", str(var / "orchestrator.db"),
                                  "--map", "prefix"])
    assert bad_map.exit_code == 2 and "FIELD=COLUMN" in bad_map.output
    unknown = runner.invoke(cli, ["ratecards", "show", "Nope"])
    assert unknown.exit_code == 1 and "no provider card named 'Nope'" in unknown.output


def test_npa_table_export_import_and_lookup(var: Path) -> None:
    runner = CliRunner()
    exported = runner.invoke(cli, ["ratecards", "npa-table", "export"])
    assert exported.exit_code == 0 and exported.output.startswith("prefix,country,region\n")
    assert "\n1212,US,NY\n" in exported.output
    looked = runner.invoke(cli, ["ratecards", "npa-table", "lookup", "12125550100",
                                 "13155550100", "14155550100"])
    assert "12125550100 -> 13155550100: intra" in looked.output
    assert "12125550100 -> 14155550100: inter" in looked.output
    mine = var / "npa.csv"
    mine.write_text("prefix,country,region\n1212,US,CA\n", encoding="utf-8")
    assert runner.invoke(cli, ["ratecards", "npa-table", "import", str(mine)]).exit_code == 0
    looked = runner.invoke(cli, ["ratecards", "npa-table", "lookup", "12125550100"])
    assert "12125550100: US CA" in looked.output
    bad = var / "bad.csv"
    bad.write_text("prefix,country,region\n1212,XX,CA\n", encoding="utf-8")
    refused = runner.invoke(cli, ["ratecards", "npa-table", "import", str(bad)])
    assert refused.exit_code == 1 and "row 2" in refused.output
