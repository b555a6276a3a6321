"""`orchestrator db upgrade|downgrade`."""

from __future__ import annotations

import click

from orchestrator.cli.common import load_settings
from orchestrator.db import migrate


@click.group()
def db() -> None:
    """Database migrations (Alembic)."""


@db.command()
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Migrate the database up to REVISION (default: the newest)."""
    settings = load_settings()
    settings.ensure_dirs()
    migrate.upgrade(settings.db_url, revision)
    click.echo(f"database at {revision}")


@db.command()
@click.argument("revision")
@click.confirmation_option(prompt="Downgrading drops tables and their data. Continue?")
def downgrade(revision: str) -> None:
    """Migrate the database down to REVISION ("base" = empty)."""
    migrate.downgrade(load_settings().db_url, revision)
    click.echo(f"database at {revision}")
