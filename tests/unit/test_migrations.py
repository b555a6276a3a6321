"""Alembic: an empty database upgrades to head and downgrades back to empty."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from orchestrator.db import downgrade, make_engine, upgrade
from orchestrator.models import metadata


def test_upgrade_to_head_and_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    engine = make_engine(url)
    tables = set(inspect(engine).get_table_names())
    assert set(metadata.tables) <= tables
    assert "alembic_version" in tables
    engine.dispose()
    downgrade(url, "base")
    engine = make_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()


def test_models_match_migrations(tmp_path: Path) -> None:
    """Every model column exists in the migrated schema (no forgotten migration)."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    engine = make_engine(url)
    inspector = inspect(engine)
    for name, table in metadata.tables.items():
        columns = {c["name"] for c in inspector.get_columns(name)}
        assert {c.name for c in table.columns} == columns, name
    engine.dispose()
