"""What the customer card pages share: the blueprint, the acting user, the list spec,
money shown as decimals and the names of provider cards."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Any

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from jinja2 import BaseLoader, FileSystemLoader, PrefixLoader
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.carriers.models import Carrier
from orchestrator.errors import Conflict, ValidationFailed
from orchestrator.ratecards import customer_cards, revisions
from orchestrator.ratecards.models import CustomerCard, ProviderCard
from orchestrator.ratecards.money import DECIMALS, format_units
from webui.auth import current_actor
from webui.auth import require_write as auth_require_write
from webui.lists import Column, ListSpec
from webui.state import web_state

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "customer_cards"


class CardsBlueprint(Blueprint):
    """The blueprint; its loader also answers ``customer-cards/<name>`` (the template
    names the shared list views derive from the list's URL name) from
    templates/customer_cards/."""

    @cached_property
    def jinja_loader(self) -> BaseLoader | None:
        return PrefixLoader({"customer-cards": FileSystemLoader(TEMPLATES)})


bp = CardsBlueprint("customer_cards", __name__)

LIST = ListSpec(
    name="customer-cards",
    columns=(
        Column("name", "Name", sort="name", always=True),
        Column("public_name", "Public name", sort="public_name"),
        Column("currency", "Currency", sort="currency"),
        Column("strategy", "Strategy", sort="strategy"),
        Column("parents", "Parents", numeric=True),
        Column("active_revision", "Active revision", numeric=True),
        Column("active_rows", "Rows", numeric=True),
        Column("stale", "Stale"),
        Column("external", "External", sort="external"),
        Column("created_at", "Created", sort="created_at"),
    ),
    default_sort="name",
    hidden_by_default=frozenset({"created_at"}),
)


actor = current_actor


def require_write() -> Actor:
    """The actor, if it may change things; else the request ends with 403."""
    return auth_require_write("customer rate cards")


def base_currency() -> str:
    return web_state().settings.base_currency


def errors_of(exc: ValidationFailed | Conflict) -> dict[str, list[str]]:
    if isinstance(exc, Conflict):
        return {exc.field: [exc.message]}
    return exc.errors


def status_of(exc: ValidationFailed | Conflict) -> int:
    return 409 if isinstance(exc, Conflict) else 422


def money(units: int | None, places: int = 4) -> str:
    """Units of 10^-8 as a decimal: at least ``places`` decimals, more only when needed."""
    if units is None:
        return ""
    text = format_units(int(units), DECIMALS)
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0").ljust(max(0, min(places, DECIMALS)), "0")
    return f"{whole}.{frac}" if frac else whole


def card_row(session: Session, card: CustomerCard) -> dict[str, Any]:
    """The service's view of a card plus parents count, active revision and staleness."""
    row = customer_cards.to_dict(card)
    active = revisions.active_revision(session, card)
    row["parents"] = len(card.parents)
    row["active_revision"] = active.number if active else None
    row["active_rows"] = active.row_count if active else None
    row["stale"] = stale_label(session, card)
    row["external"] = "external" if card.external else ""
    return row


def stale_label(session: Session, card: CustomerCard) -> str:
    """"stale" (the parents changed since the last build), "not built" (never built,
    which a build of every stale card also builds), else ""."""
    if not revisions.stale(session, card):
        return ""
    return "stale" if revisions.next_number(session, card) > 1 else "not built"


def provider_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    """Provider card id -> its name (missing ids are left out)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {int(i): str(n) for i, n in session.execute(
        select(ProviderCard.id, ProviderCard.name).where(ProviderCard.id.in_(wanted)))}


def provider_choices(session: Session) -> list[dict[str, Any]]:
    """Every provider card for the parents select: id, name, carrier, currency."""
    rows = session.execute(
        select(ProviderCard.id, ProviderCard.name, ProviderCard.currency, Carrier.name)
        .join(Carrier, Carrier.id == ProviderCard.carrier_id)
        .order_by(Carrier.name, ProviderCard.name)).all()
    return [{"id": r[0], "name": r[1], "currency": r[2], "carrier": r[3]} for r in rows]


def confirm_page(title: str, message: str, action: str, button: str, cancel: str, *,
                 danger: bool = False, refusal: str | None = None,
                 activate_option: bool = False, status: int = 200) -> ResponseReturnValue:
    """A confirmation page: a POST form with one button (works without script)."""
    page = render_template("customer_cards/confirm.html", title=title, message=message,
                           action=action, button=button, cancel=cancel, danger=danger,
                           refusal=refusal, activate_option=activate_option)
    return page, status
