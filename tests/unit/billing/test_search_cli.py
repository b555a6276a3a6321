"""`orchestrator cdrs search|show|export` and `orchestrator stats` through CliRunner."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from orchestrator.actor import SYSTEM
from orchestrator.cli import cli
from orchestrator.customers.service import create_customer
from orchestrator.db import make_engine, session_factory
from tests.support.cdrs import add_cdrs
from tests.unit.billing.test_search import migrated  # noqa: F401  (fixture)

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def run(migrated: Path, tmp_path: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> Any:
    path = tmp_path / "cli.db"
    path.write_bytes(migrated.read_bytes())
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        acme = create_customer(session, SYSTEM, {"name": "Acme", "currency": "USD"})
        add_cdrs(session, *({"start_at": T0 + timedelta(minutes=n), "customer_id": acme.id,
                             "call_id": f"cli-{n}", "duration_ms": 30_000 * (n % 2),
                             "sell_currency": "USD", "sell_charge": 5_000_000 * (n % 2)}
                            for n in range(4)))
    engine.dispose()
    monkeypatch.setenv("ORCHESTRATOR_DATABASE_URL", url)
    monkeypatch.setenv("ORCHESTRATOR_VAR_DIR", str(tmp_path / "var"))

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args))
    return invoke


PERIOD = ("--from", "2026-05-01", "--to", "2026-05-02")


def test_search_pages_and_show(run: Any) -> None:
    first = run("cdrs", "search", *PERIOD, "--limit", "3", "--json")
    assert first.exit_code == 0, first.output
    page = json.loads(first.output)
    assert [i["call_id"] for i in page["items"]] == ["cli-3", "cli-2", "cli-1"]
    assert page["items"][0]["start_at"] == "2026-05-01T09:03:00Z"
    rest = json.loads(run("cdrs", "search", *PERIOD, "--cursor", page["next_cursor"],
                          "--json").output)
    assert [i["call_id"] for i in rest["items"]] == ["cli-0"]
    text = run("cdrs", "search", *PERIOD, "--result", "answered")
    assert "cli-" not in text.output and "Acme" in text.output
    assert text.output.count("Acme") == 2
    shown = run("cdrs", "show", str(page["items"][0]["id"]))
    assert shown.exit_code == 0 and "cli-3" in shown.output and "0.05000000" in shown.output


def test_export_to_stdout(run: Any) -> None:
    result = run("cdrs", "export", *PERIOD, "--result", "answered")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [r["call_id"] for r in rows] == ["cli-1", "cli-3"]
    assert rows[0]["customer_name"] == "Acme"


def test_stats_table_and_json(run: Any) -> None:
    data = json.loads(run("stats", *PERIOD, "--by", "customer", "--json").output)
    [row] = data["rows"]
    # 4 attempts, 2 answered of 30 s, 0.05 each
    assert (row["label"], row["attempts"], row["answered"], row["asr"]) == ("Acme", 4, 2, 50.0)
    assert (row["acd"], row["minutes"], row["revenue"]) == (30.0, 1.0, "0.10000000")
    table = run("stats", *PERIOD, "--by", "hour")
    assert table.exit_code == 0 and "2026-05-01 09:00" in table.output
    assert "Total" in table.output


def test_bad_input_exits_1_with_the_field(run: Any) -> None:
    bad = run("stats", "--by", "planet")
    assert bad.exit_code == 1 and "group_by" in bad.output and "planet" in bad.output
    backwards = run("cdrs", "search", "--from", "2026-05-02", "--to", "2026-05-01")
    assert backwards.exit_code == 1 and "must be before to" in backwards.output
    cursor = run("cdrs", "search", "--cursor", "zzz")
    assert cursor.exit_code == 1 and "cursor" in cursor.output
    missing = run("cdrs", "show", "424242")
    assert missing.exit_code == 1 and "not found" in missing.output
