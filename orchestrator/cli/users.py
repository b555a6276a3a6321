"""`orchestrator users create|set-password`."""

from __future__ import annotations

import click

from orchestrator.cli.common import load_settings
from orchestrator.db import make_engine, session_factory
from orchestrator.users import service
from orchestrator.users.models import ROLES


@click.group()
def users() -> None:
    """Admin users of the web admin, API and CLI."""


@users.command()
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="admin", show_default=True)
@click.password_option(help="Prompted for when not given.")
def create(username: str, role: str, password: str) -> None:
    """Create an admin user."""
    engine = make_engine(load_settings().db_url)
    try:
        with session_factory(engine)() as session, session.begin():
            service.create_user(session, username, password, role)
    except service.UserError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo(f"created {role} {username}")


@users.command("set-password")
@click.argument("username")
@click.password_option(help="Prompted for when not given.")
def set_password(username: str, password: str) -> None:
    """Set a user's password (for a forgotten admin password)."""
    engine = make_engine(load_settings().db_url)
    try:
        with session_factory(engine)() as session, session.begin():
            service.set_password(session, username, password)
    except service.UserError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo(f"password of {username} changed")
