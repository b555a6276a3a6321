"""Alembic environment: runs migrations against the URL set by orchestrator.db.migrate."""

from alembic import context
from sqlalchemy import pool

from orchestrator.db.engine import make_engine
from orchestrator.models import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "sqlalchemy.url must be set"
engine = make_engine(url, poolclass=pool.NullPool)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
