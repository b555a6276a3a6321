"""A migrated SQLite database per test, a fixed encryption key, and actors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session

from orchestrator import secrets
from orchestrator.actor import Actor
from orchestrator.db import make_engine, session_factory, upgrade

ADMIN = Actor(1, "alice", "admin")
VIEWER = Actor(2, "victor", "viewer")


@pytest.fixture
def key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The encryption key of this test, given the way operators do: by environment."""
    value = Fernet.generate_key().decode()
    monkeypatch.setenv("ORCHESTRATOR_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("ORCHESTRATOR_ENCRYPTION_KEY", value)
    secrets.configure(None)
    yield value
    secrets.configure(None)


@pytest.fixture
def db_url(tmp_path: Path, key: str) -> str:
    url = f"sqlite:///{tmp_path / 'orchestrator.db'}"
    upgrade(url)
    return url


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        yield s
    engine.dispose()
