"""`orchestrator billing collect`: one pass over the switch's CDR files (no Kamailio
needed: rotation only happens to large files), counts printed, run twice safely."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from orchestrator.cli import cli
from tests.support.ports import free_port
from tests.unit.billing.test_collector import line
from tests.unit.ratecards import test_cli_ratecards as cli_ratecards

migrated_db = cli_ratecards.migrated_db


@pytest.fixture(autouse=True)
def var_dir(migrated_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(migrated_db, tmp_path / "orchestrator.db")
    monkeypatch.setenv("ORCHESTRATOR_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("ORCHESTRATOR_RPC_PORT", str(free_port()))
    (tmp_path / "cdrs").mkdir()
    return tmp_path


def test_collect_twice(var_dir: Path) -> None:
    (var_dir / "cdrs" / "cdrs_3.log").write_text(
        "".join(line(n, code=486, answered=False) + "\n" for n in range(5)) + "junk\n")
    first = CliRunner().invoke(cli, ["billing", "collect", "--no-rating", "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == {"lines": 5, "inserted": 5, "bad": 1, "files": 1,
                                        "rotated": 0, "retired": 0}
    again = CliRunner().invoke(cli, ["billing", "collect", "--no-rating"])
    assert again.exit_code == 0
    assert "0 CDR line(s) read" in again.stdout
    engine = create_engine(f"sqlite:///{var_dir / 'orchestrator.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*), min(code) FROM cdrs")).one() == (5, 486)
    engine.dispose()


def test_help_explains_exactly_once() -> None:
    result = CliRunner().invoke(cli, ["billing", "collect", "--help"])
    assert result.exit_code == 0 and "exactly once" in result.output
