"""`orchestrator customers list|show|add|import`: thin layer over orchestrator.customers."""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.cli.common import load_settings
from orchestrator.customers import csv_import, ips, service, views
from orchestrator.customers.models import Customer
from orchestrator.db import make_engine, session_factory
from orchestrator.errors import Conflict, NotFound, ServiceError, ValidationFailed
from orchestrator.header_policy import PAI_MODES
from orchestrator.listing import ListQuery

T = TypeVar("T")
LIST_COLUMNS = ("id", "name", "status", "currency", "balance", "email", "city")


def cli_actor() -> Actor:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return Actor(None, f"cli:{user}", "admin")


def _message(exc: ServiceError) -> str:
    if isinstance(exc, ValidationFailed):
        return "invalid input:\n" + "\n".join(
            f"  {field}: {message}" for field, messages in exc.errors.items()
            for message in messages)
    if isinstance(exc, Conflict):
        return f"conflict: {exc.field}: {exc.message}"
    if isinstance(exc, NotFound):
        return str(exc)
    return str(exc) or type(exc).__name__


@contextmanager
def _session() -> Iterator[Session]:
    """A session in one transaction; service errors become a clear message and exit 1."""
    engine = make_engine(load_settings().db_url)
    try:
        with session_factory(engine)() as session, session.begin():
            yield session
    except ServiceError as exc:
        raise click.ClickException(_message(exc)) from exc
    except (OperationalError, ProgrammingError) as exc:
        raise click.ClickException(
            f"database not usable ({exc.orig}): is it migrated? "
            "run `orchestrator db upgrade`") from exc
    finally:
        engine.dispose()


def _emit(data: Any, as_json: bool, text: Callable[[], str]) -> None:
    click.echo(json.dumps(data, indent=2, default=str) if as_json else text())


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


def _find(session: Session, actor: Actor, ident: str) -> Customer:
    if ident.isdigit():
        return service.get_customer(session, actor, int(ident))
    actor.require("read")
    customer = service.find_by_name(session, ident)
    if customer is None:
        raise NotFound("customer", repr(ident))
    return customer


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    """`a=b,c=d` (option repeatable) -> {"a": "b", "c": "d"}."""
    out: dict[str, str] = {}
    for value in values:
        for pair in filter(None, (p.strip() for p in value.split(","))):
            left, sep, right = pair.partition("=")
            if not sep or not left.strip() or not right.strip():
                raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint=option)
            out[left.strip()] = right.strip()
    return out


@click.group()
def customers() -> None:
    """Customers: who buys termination (see docs/customers.md)."""


@customers.command("list")
@click.option("-q", "--query", "q", default="", help="Search name, email, website, city.")
@click.option("--sort", default="name", show_default=True,
              help=f"Field, '-' for descending: {', '.join(service.SORTABLE_FIELDS)}.")
@click.option("--status", default=None, help="Only customers with this status.")
@click.option("--page", default=1, show_default=True)
@click.option("--per-page", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(q: str, sort: str, status: str | None, page: int, per_page: int,
          as_json: bool) -> None:
    """List customers with their balance."""
    actor = cli_actor()
    with _session() as session:
        result = service.list_customers(session, actor, ListQuery(q, sort, page, per_page),
                                        status=status)
        items = views.customer_rows(session, result.items)
    data = {"items": items, "total": result.total, "page": result.page,
            "per_page": result.per_page}
    _emit(data, as_json, lambda: _table(items, LIST_COLUMNS)
          + f"\n{result.total} customers, page {result.page} of {result.pages}")


@customers.command()
@click.argument("customer")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show(customer: str, as_json: bool) -> None:
    """Show CUSTOMER (id or name) with IP auth, SIP users, payments and balance."""
    actor = cli_actor()
    with _session() as session:
        found = _find(session, actor, customer)
        data = views.customer_detail(session, actor, found.id, payment_limit=500)

    def text() -> str:
        lines = [f"{k}: {v}" for k, v in data.items()
                 if k not in ("ips", "sip_users", "payments", "payments_total")]
        lines.append("ips: " + (", ".join(ips.describe(e["network"], e["port"])
                                          for e in data["ips"]) or "-"))
        lines.append("sip_users: " + (", ".join(u["username"] for u in data["sip_users"])
                                      or "-"))
        lines.append(f"payments: {data['payments_total']}")
        return "\n".join(lines)
    _emit(data, as_json, text)


@customers.command()
@click.option("--name", required=True)
@click.option("--currency", required=True, help="ISO 4217 code, e.g. USD (fixed later).")
@click.option("--status", default=None, help="active, inactive, pending_approval, penalty.")
@click.option("--tax-percent", default=None)
@click.option("--debit-limit", default=None, help="Decimal; 0 = prepaid.")
@click.option("--channels", default=None, help="0 = unlimited.")
@click.option("--cps", default=None, help="0 = unlimited.")
@click.option("--email", default=None)
@click.option("--mobile", default=None, help="E.164, e.g. +447400123456.")
@click.option("--website", default=None)
@click.option("--paypal-email", default=None)
@click.option("--address-line", "address_lines", multiple=True, help="Repeat per line.")
@click.option("--city", default=None)
@click.option("--postcode", default=None)
@click.option("--country", default=None, help="ISO 3166 alpha-2, e.g. GB.")
@click.option("--portal-access/--no-portal-access", default=None)
@click.option("--verification-required/--no-verification-required", default=None)
@click.option("--pass-headers", default=None, metavar="NAMES",
              help="Optional headers exchanged with the switch, comma-separated, e.g. "
                   "'Diversion, X-Acme-*' (default Diversion, History-Info, "
                   "Remote-Party-ID; docs/header-policy.md).")
@click.option("--pai", type=click.Choice(PAI_MODES), default=None,
              help="P-Asserted-Identity of its calls (default accept).")
@click.option("--low-balance-threshold", default=None,
              help="Email the customer once when its balance falls below it (decimal).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def add(as_json: bool, address_lines: tuple[str, ...], **fields: Any) -> None:
    """Create a customer."""
    data = {k: v for k, v in fields.items() if v is not None}
    if address_lines:
        data["address_lines"] = list(address_lines)
    with _session() as session:
        created = service.create_customer(session, cli_actor(), data)
        out = service.customer_to_dict(created)
    _emit(out, as_json, lambda: f"created customer {out['id']} {out['name']}")


@customers.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--map", "maps", multiple=True, required=True, metavar="FIELD=COLUMN,...",
              help="Customer field from CSV column, e.g. name=Company,email=Mail.")
@click.option("--set", "sets", multiple=True, metavar="FIELD=VALUE,...",
              help="Value for every row of a field no column gives, e.g. currency=USD.")
@click.option("--header-row", default=1, show_default=True, help="Row of the column names.")
@click.option("--no-header", is_flag=True, help="No header: columns are 1, 2, 3 ...")
@click.option("--delimiter", default=None, help="Default: detected.")
@click.option("--dry-run", is_flag=True, help="Check every row and preview; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def import_(file: Path, maps: tuple[str, ...], sets: tuple[str, ...], header_row: int,
            no_header: bool, delimiter: str | None, dry_run: bool, as_json: bool) -> None:
    """Create customers from a CSV FILE: all rows, or none if any row is bad."""
    mapping = {column: target for target, column in _pairs(maps, "--map").items()}
    defaults = _pairs(sets, "--set")
    content = file.read_bytes()
    header = None if no_header else header_row
    actor = cli_actor()
    with _session() as session:
        result = csv_import.import_customers(session, actor, content, mapping,
                                             header_row=header, delimiter=delimiter,
                                             defaults=defaults, dry_run=dry_run)
        preview = csv_import.preview_import(session, actor, content, mapping,
                                            header_row=header, delimiter=delimiter,
                                            defaults=defaults) if dry_run else None
        ids = [c.id for c in result.created]
    data: dict[str, Any] = {"dry_run": dry_run, "rows": result.row_count, "created_ids": ids}
    if preview is not None:
        data["preview"] = preview.mapped
    verb = "would create" if dry_run else "created"
    _emit(data, as_json, lambda: (_table(preview.mapped, tuple(mapping.values())) + "\n"
                                  if preview and preview.mapped else "")
          + f"{verb} {result.row_count} customers")
