"""Fixtures of the balances tests (``pytest_plugins``): a migrated SQLite copy per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from orchestrator.db import make_engine, session_factory, upgrade


@pytest.fixture(scope="session")
def balances_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("balances") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def db_url(balances_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "b.db"
    path.write_bytes(balances_template.read_bytes())
    return f"sqlite:///{path}"


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        yield s
    engine.dispose()
