"""Imports every domain's models so that metadata (and Alembic) sees all tables."""

from orchestrator.db.base import Base
from orchestrator.users.models import AdminUser

metadata = Base.metadata

__all__ = ["AdminUser", "metadata"]
