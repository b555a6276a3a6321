"""`orchestrator users create|list|passwd` (``set-password`` is an alias of passwd)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import click
from sqlalchemy.orm import Session

from orchestrator.cli.common import load_settings
from orchestrator.db import make_engine, session_factory
from orchestrator.errors import ServiceError
from orchestrator.listing import MAX_PER_PAGE, ListQuery
from orchestrator.users import service
from orchestrator.users.models import ROLES

T = TypeVar("T")


@contextmanager
def _session() -> Iterator[Session]:
    """One transaction; service refusals become a one-line error and exit 1."""
    engine = make_engine(load_settings().db_url)
    try:
        with session_factory(engine)() as session, session.begin():
            yield session
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.ClickException("no password on standard input")
        return password
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


def _password_options(f: Callable[..., T]) -> Callable[..., T]:
    f = click.option("--password-stdin", is_flag=True,
                     help="Read the password from the first line of standard input.")(f)
    return click.option("--password", hidden=True,
                        help="The password (visible to other users: prefer the prompt or "
                        "--password-stdin).")(f)


@click.group()
def users() -> None:
    """Admin users of the web admin, API and CLI."""


@users.command()
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="admin", show_default=True)
@_password_options
def create(username: str, role: str, password: str | None, password_stdin: bool) -> None:
    """Create a user (password prompted, or read with --password-stdin)."""
    password = password if password is not None else _read_password(password_stdin)
    with _session() as session:
        service.create_user(session, username, password, role)
    click.echo(f"created {role} {username}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_(as_json: bool) -> None:
    """List the users."""
    rows = []
    with _session() as session:
        page_no = 1
        while True:
            page = service.list_users(session, ListQuery(page=page_no, per_page=MAX_PER_PAGE))
            rows += [{"id": u.id, "username": u.username, "role": u.role, "active": u.active,
                      "last_login_at": u.last_login_at.isoformat() if u.last_login_at
                      else None} for u in page.items]
            if page_no >= page.pages:
                break
            page_no += 1
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'ID':>4}  {'USERNAME':<24} {'ROLE':<9} {'ACTIVE':<6} LAST LOGIN")
    for row in rows:
        click.echo(f"{row['id']:>4}  {row['username']:<24} {row['role']:<9} "
                   f"{'yes' if row['active'] else 'no':<6} {row['last_login_at'] or '-'}")


@users.command()
@click.argument("username")
@_password_options
def passwd(username: str, password: str | None, password_stdin: bool) -> None:
    """Set a user's password (for a forgotten admin password)."""
    password = password if password is not None else _read_password(password_stdin)
    with _session() as session:
        service.set_password(session, username, password)
    click.echo(f"password of {username} changed")


users.add_command(passwd, "set-password")  # the older name
