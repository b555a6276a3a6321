"""Database infrastructure: declarative base, engine/session factory, migrations."""

from orchestrator.db.base import Base
from orchestrator.db.engine import make_engine, session_factory
from orchestrator.db.migrate import downgrade, upgrade

__all__ = ["Base", "downgrade", "make_engine", "session_factory", "upgrade"]
