"""A migrated temporary SQLite database and actors for the customers tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.customers import service
from orchestrator.customers.models import Customer
from orchestrator.db import make_engine, session_factory, upgrade

OPERATOR = Actor(7, "olivia", "operator")
VIEWER = Actor(8, "victor", "viewer")


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once; each test works on a copy."""
    path = tmp_path_factory.mktemp("customers") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def db_url(migrated_db: Path, tmp_path: Path) -> str:
    path = tmp_path / "c.db"
    path.write_bytes(migrated_db.read_bytes())
    return f"sqlite:///{path}"


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        yield s
    engine.dispose()


@pytest.fixture
def make_customer(session: Session) -> Any:
    def make(name: str = "Acme", **fields: Any) -> Customer:
        data: dict[str, Any] = {"name": name, "currency": "USD", **fields}
        return service.create_customer(session, OPERATOR, data)
    return make
