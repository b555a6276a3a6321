"""`orchestrator routes list|add|show|delete`: thin layer over orchestrator.routing.routes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.cli.carriers import _echo_json, _fail, _run, json_option
from orchestrator.cli.customers import _find
from orchestrator.errors import ValidationFailed
from orchestrator.ratecards.models import CustomerCard
from orchestrator.routing import routes as service
from orchestrator.routing.models import ROUTE_STRATEGIES, RTP_PROXY_MODES, SIP_PING

_LIST_COLUMNS = ("id", "name", "tech_prefix", "priority", "enabled", "tariff_id", "channels",
                 "cps")


def _tariff_id(session: Session, ident: str) -> int:
    """A customer card by id or name (ignoring case)."""
    if ident.isdigit():
        return int(ident)
    found = session.scalar(select(CustomerCard.id).where(
        func.lower(CustomerCard.name) == ident.strip().lower()))
    if found is None:
        raise ValidationFailed.one("tariff_id", f"no customer rate card named {ident!r}")
    return int(found)


@click.group()
def routes() -> None:
    """Ingress routes of customers: tariff, tech prefix, dial string, limits, media."""


@routes.command("list")
@click.argument("customer")
@json_option
def list_(customer: str, as_json: bool) -> None:
    """List a customer's (id or name) routes, by priority then id."""
    def work(session: Session, actor: Actor) -> list[dict[str, Any]]:
        found = _find(session, actor, customer)
        return [service.to_dict(r) for r in service.list_routes(session, actor, found.id)]

    items = _run(as_json, work)
    if as_json:
        _echo_json({"items": items, "total": len(items)})
        return
    rows = [[str(item[c]) for c in _LIST_COLUMNS] for item in items]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(_LIST_COLUMNS)]
    for line in [list(_LIST_COLUMNS), *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))
    click.echo(f"{len(items)} route(s)")


@routes.command()
@click.argument("customer")
@click.option("--tariff", required=True, help="Customer rate card id or name (in the "
              "customer's currency).")
@click.option("--name", default="")
@click.option("--tech-prefix", default="", help="Digits the customer dials first; "
              "stripped.")
@click.option("--dial-string-file", type=click.Path(exists=True, dir_okay=False,
                                                    path_type=Path),
              help="File of dial string lines (digit prefix or regex each); none = allow "
                   "all.")
@click.option("--priority", default="0", show_default=True, help="Lower first.")
@click.option("--disabled", is_flag=True, help="Create the route disabled.")
@click.option("--channels", default="0", show_default=True, help="0 = unlimited.")
@click.option("--cps", default="0", show_default=True, help="0 = unlimited.")
@click.option("--max-duration", default="0", show_default=True,
              help="Seconds; 0 = no limit.")
@click.option("--sip-ping", type=click.Choice(SIP_PING), default="disabled",
              show_default=True)
@click.option("--rtp-timeout/--no-rtp-timeout", default=False)
@click.option("--profit-assurance/--no-profit-assurance", default=False)
@click.option("--lock-card", "lock_cards", multiple=True, type=int,
              help="Provider card id; repeat. Only these cards are used.")
@click.option("--exclude-card", "exclude_cards", multiple=True, type=int,
              help="Provider card id; repeat. All cards but these are used.")
@click.option("--strategy", type=click.Choice(ROUTE_STRATEGIES),
              help="Default: the tariff's strategy.")
@click.option("--rtp-proxy", default="auto", show_default=True,
              help="auto, direct or a media zone name.")
@click.option("--rtp-proxy-mode", type=click.Choice(RTP_PROXY_MODES), default="relaxed",
              show_default=True)
@json_option
def add(customer: str, tariff: str, dial_string_file: Path | None, disabled: bool,
        lock_cards: tuple[int, ...], exclude_cards: tuple[int, ...], as_json: bool,
        **fields: Any) -> None:
    """Add an ingress route to a customer (id or name)."""
    dial_string = ""
    if dial_string_file is not None:
        try:
            dial_string = dial_string_file.read_text(encoding="utf-8-sig")
        except (UnicodeDecodeError, OSError) as exc:
            _fail(ValidationFailed.one("dial_string", f"cannot read "
                                       f"{dial_string_file}: {exc}"), as_json)

    def work(session: Session, actor: Actor) -> dict[str, Any]:
        found = _find(session, actor, customer)
        data = fields | {"tariff_id": _tariff_id(session, tariff), "dial_string": dial_string,
                         "enabled": not disabled, "lock_cards": list(lock_cards),
                         "exclude_cards": list(exclude_cards)}
        return service.to_dict(service.create_route(session, actor, found.id, data))

    view = _run(as_json, work)
    if as_json:
        _echo_json(view)
    else:
        click.echo(f"created ingress route {view['id']} for customer {customer}")


@routes.command()
@click.argument("route_id", type=int)
@json_option
def show(route_id: int, as_json: bool) -> None:
    """Show one route by id."""
    def work(session: Session, actor: Actor) -> dict[str, Any]:
        return service.to_dict(service.find_route(session, actor, route_id))

    data = _run(as_json, work)
    if as_json:
        _echo_json(data)
        return
    for key, value in data.items():
        if key == "dial_string":
            click.echo("dial_string:" + ("" if value else " (allow all)"))
            for line in str(value).splitlines():
                click.echo(f"  {line}")
        else:
            click.echo(f"{key:18} {value}")


@routes.command()
@click.argument("route_id", type=int)
@json_option
def delete(route_id: int, as_json: bool) -> None:
    """Delete one route by id."""
    def work(session: Session, actor: Actor) -> int:
        route = service.find_route(session, actor, route_id)
        service.delete_route(session, actor, route.customer_id, route.id)
        return route.customer_id

    customer_id = _run(as_json, work)
    if as_json:
        _echo_json({"deleted": route_id, "customer_id": customer_id})
    else:
        click.echo(f"deleted ingress route {route_id} of customer {customer_id}")


__all__ = ["routes"]
