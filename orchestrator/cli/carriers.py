"""`orchestrator carriers list|show|add|import`: thin layer over the carrier service."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from orchestrator import secrets
from orchestrator.actor import Actor
from orchestrator.carriers import importer, payments, service
from orchestrator.carriers.schemas import CarrierCreate
from orchestrator.cli.common import load_settings
from orchestrator.db import make_engine, session_factory
from orchestrator.db.types import STATUSES
from orchestrator.errors import Conflict, ServiceError, ValidationFailed
from orchestrator.header_policy import DEFAULT_PASS
from orchestrator.listing import ListQuery

T = TypeVar("T")
_LIST_COLUMNS = ("id", "name", "status", "currency", "channels", "cps", "city", "country")


def cli_actor() -> Actor:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return Actor(None, f"cli:{user}", "admin")


def _fail(exc: Exception, as_json: bool) -> NoReturn:
    errors = exc.errors if isinstance(exc, ValidationFailed) else {}
    if isinstance(exc, Conflict):
        errors = {exc.field: [exc.message]}
    if as_json:
        click.echo(json.dumps({"error": str(exc), "errors": errors}, indent=2))
        sys.exit(1)
    if errors:
        lines = [f"  {field}: {' '.join(messages)}" for field, messages in errors.items()]
        raise click.ClickException("invalid input:\n" + "\n".join(lines))
    raise click.ClickException(str(exc))


@contextmanager
def _session(as_json: bool) -> Iterator[Session]:
    """A transaction on the configured database; service errors end the command."""
    settings = load_settings()
    secrets.configure(settings)
    engine = make_engine(settings.db_url)
    try:
        with session_factory(engine)() as session, session.begin():
            yield session
    except (ServiceError, secrets.SecretKeyError) as exc:
        _fail(exc, as_json)
    except OperationalError as exc:
        _fail(click.ClickException(f"database error ({exc.orig}); is it migrated? "
                                   "Run `orchestrator db upgrade`"), as_json)
    finally:
        engine.dispose()
        secrets.configure(None)


def _run(as_json: bool, work: Callable[[Session, Actor], T]) -> T:
    with _session(as_json) as session:
        return work(session, cli_actor())


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


json_option = click.option("--json", "as_json", is_flag=True, help="JSON output for scripts.")


@click.group()
def carriers() -> None:
    """Carriers: who sells termination to us, their gateways and payments."""


@carriers.command("list")
@click.option("-q", "--search", "q", default="", help="Text in name, website, portal URL, city.")
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--sort", default="name", show_default=True,
              help="name, status, currency, created_at or id; -name for descending.")
@click.option("--page", default=1, show_default=True)
@click.option("--per-page", default=50, show_default=True)
@json_option
def list_(q: str, status: str | None, sort: str, page: int, per_page: int,
          as_json: bool) -> None:
    """List carriers."""
    def work(session: Session, actor: Actor) -> dict[str, Any]:
        result = service.list_carriers(session, actor, ListQuery(q, sort, page, per_page),
                                       status=status)
        return {"items": [service.to_dict(c) for c in result.items], "total": result.total,
                "page": result.page, "per_page": result.per_page}

    data = _run(as_json, work)
    if as_json:
        _echo_json(data)
        return
    rows = [[str(item[c]) for c in _LIST_COLUMNS] for item in data["items"]]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(_LIST_COLUMNS)]
    for line in [list(_LIST_COLUMNS), *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))
    click.echo(f"{data['total']} carrier(s); page {data['page']}")


@carriers.command()
@click.argument("carrier")
@json_option
def show(carrier: str, as_json: bool) -> None:
    """Show one carrier (by id or name) with its gateways, payments and balance."""
    def work(session: Session, actor: Actor) -> dict[str, Any]:
        found = service.find_carrier(session, actor, carrier)
        view = service.to_dict(found, children=True)
        view["balance"] = service.format_money(payments.balance(session, found.id))
        return view

    data = _run(as_json, work)
    if as_json:
        _echo_json(data)
        return
    for key, value in data.items():
        if key not in ("gateways", "payments"):
            click.echo(f"{key:18} {value}")
    click.echo("gateways:")
    for gw in data["gateways"]:
        state = "" if gw["enabled"] else "  (disabled)"
        host = f"[{gw['host']}]" if ":" in gw["host"] else gw["host"]
        click.echo(f"  #{gw['id']} {host}:{gw['port']}/{gw['transport']} "
                   f"weight {gw['weight']}{state}")
    click.echo("payments:")
    for p in data["payments"]:
        click.echo(f"  #{p['id']} {p['created_at']} {p['amount']} fee {p['fee']} "
                   f"{p['status']} {p['description']}")


@carriers.command()
@click.option("--name", required=True)
@click.option("--currency", required=True, help="ISO 4217, fixed once created.")
@click.option("--status", default="active", show_default=True)
@click.option("--channels", default="0", show_default=True, help="0 = unlimited.")
@click.option("--cps", default="0", show_default=True, help="0 = unlimited.")
@click.option("--paypal-email", default="")
@click.option("--website", default="")
@click.option("--portal-url", default="")
@click.option("--portal-username", default="")
@click.option("--portal-password-stdin", is_flag=True,
              help="Read the portal password from the first line of standard input.")
@click.option("--portal-access/--no-portal-access", default=False)
@click.option("--address-lines", default="")
@click.option("--city", default="")
@click.option("--postcode", default="")
@click.option("--country", default="", help="ISO 3166 alpha-2, e.g. GB.")
@click.option("--pre-ring-timeout", default="30", show_default=True, help="Seconds.")
@click.option("--post-ring-timeout", default="30", show_default=True, help="Seconds.")
@click.option("--pass-headers", default=DEFAULT_PASS, show_default=True, metavar="NAMES",
              help="Optional headers exchanged with the switch, comma-separated "
                   "(X-Name, X-Prefix-*, Diversion, ...; docs/header-policy.md).")
@click.option("--trust-pai/--no-trust-pai", default=True, show_default=True,
              help="Send it the P-Asserted-Identity of callers asking for privacy.")
@click.option("--gateway", "gateway_specs", multiple=True, metavar="SPEC",
              help="host[:port][/transport][,weight=N]; repeat for several.")
@json_option
def add(portal_password_stdin: bool, gateway_specs: tuple[str, ...], as_json: bool,
        **fields: Any) -> None:
    """Add a carrier, optionally with gateways."""
    fields["portal_password"] = sys.stdin.readline().rstrip("\r\n") \
        if portal_password_stdin else ""
    try:
        gateways = [importer.parse_gateway_spec(spec) for spec in gateway_specs]
        data = CarrierCreate.from_mapping(fields)
    except ValueError as exc:
        _fail(ValidationFailed.one("gateway", str(exc)), as_json)
    except ValidationFailed as exc:
        _fail(exc, as_json)

    def work(session: Session, actor: Actor) -> dict[str, Any]:
        return service.to_dict(service.create_carrier(session, actor, data, gateways),
                               children=True)

    view = _run(as_json, work)
    if as_json:
        _echo_json(view)
    else:
        click.echo(f"created carrier {view['name']} (id {view['id']}) with "
                   f"{len(view['gateways'])} gateway(s)")


@carriers.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--map", "mapping", default="", metavar="FIELD=COLUMN,...",
              help="Which column holds which field; columns named like a field map "
                   "themselves.")
@click.option("--delimiter", help="Column delimiter (detected when omitted).")
@click.option("--encoding", default="utf-8-sig", show_default=True)
@click.option("--dry-run", is_flag=True, help="Check every row, create nothing.")
@json_option
def import_(file: Path, mapping: str, delimiter: str | None, encoding: str, dry_run: bool,
            as_json: bool) -> None:
    """Import carriers from a CSV file: all rows, or none when any row is bad."""
    try:
        text = file.read_text(encoding=encoding)
        columns = importer.parse_mapping(mapping)
    except (UnicodeDecodeError, LookupError) as exc:
        _fail(ValidationFailed.one("file", f"cannot be read as {encoding}: {exc}"), as_json)
    except ValidationFailed as exc:
        _fail(exc, as_json)

    def work(session: Session, actor: Actor) -> dict[str, Any]:
        result = importer.import_csv(session, actor, text, mapping=columns,
                                     delimiter=delimiter, dry_run=dry_run)
        return {"rows": result.rows, "dry_run": dry_run,
                "created": [{"id": c.id, "name": c.name} for c in result.created]}

    data = _run(as_json, work)
    if as_json:
        _echo_json(data)
    elif dry_run:
        click.echo(f"{data['rows']} row(s) valid; nothing imported (dry run)")
    else:
        click.echo(f"imported {len(data['created'])} carrier(s)")
