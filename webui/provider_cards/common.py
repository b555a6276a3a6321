"""What the provider card pages share: the blueprint, the acting user, the list spec,
the rows of the list and how money is shown."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.carriers import service as carriers
from orchestrator.carriers.models import Carrier
from orchestrator.errors import Conflict, ValidationFailed
from orchestrator.listing import MAX_PER_PAGE, ListQuery
from orchestrator.ratecards import provider_cards as service
from orchestrator.ratecards import revisions
from orchestrator.ratecards.models import ProviderCard
from orchestrator.ratecards.money import format_units
from webui.auth import current_actor
from webui.auth import require_write as auth_require_write
from webui.lists import Column, ListSpec

SHOWN_DECIMALS = 4  # money is shown with at least this many decimals (more when needed)


class DashedBlueprint(Blueprint):
    """A blueprint whose ``/provider_cards...`` rules are served as ``/provider-cards...``.

    The shared list views (webui/list_views.py) name the URL, the templates and the
    CSV file after the list; this keeps the templates in ``provider_cards/`` and the
    address readable.
    """

    def add_url_rule(self, rule: str, *args: Any, **kwargs: Any) -> None:
        if rule.startswith("/provider_cards"):
            rule = "/provider-cards" + rule[len("/provider_cards"):]
        super().add_url_rule(rule, *args, **kwargs)


bp = DashedBlueprint("provider_cards", __name__)

LIST = ListSpec(
    name="provider_cards",
    columns=(
        Column("name", "Name", sort="name", always=True),
        Column("carrier", "Carrier"),
        Column("currency", "Currency", sort="currency"),
        Column("active_revision", "Active revision", numeric=True),
        Column("rows", "Rows", numeric=True),
        Column("tech_prefix", "Tech prefix"),
        Column("force_presentation", "Presentation"),
        Column("updated_at", "Updated", sort="updated_at"),
        Column("created_at", "Created", sort="created_at"),
    ),
    default_sort="name",
    hidden_by_default=frozenset({"tech_prefix", "force_presentation", "created_at"}),
)


actor = current_actor


def require_write() -> Actor:
    """The actor, if it may change things; else the request ends with 403."""
    return auth_require_write("rate cards")


def errors_of(exc: ValidationFailed | Conflict) -> dict[str, list[str]]:
    if isinstance(exc, Conflict):
        return {exc.field: [exc.message]}
    return dict(exc.errors)


def status_of(exc: ValidationFailed | Conflict) -> int:
    return 409 if isinstance(exc, Conflict) else 422


def money(units: int | None) -> str:
    """Units of 10^-8 as a decimal string: at least 4 decimals, no trailing zeros beyond."""
    if units is None:
        return ""
    text = format_units(int(units))
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0").ljust(SHOWN_DECIMALS, "0")
    return f"{whole}.{frac}"


def carrier_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    found = session.execute(select(Carrier.id, Carrier.name).where(Carrier.id.in_(ids)))
    return {int(carrier_id): str(name) for carrier_id, name in found}


def carrier_choices(session: Session, who: Actor) -> list[tuple[int, str]]:
    """Every carrier as (id, name), by name, through the carriers service."""
    out: list[tuple[int, str]] = []
    page_number, pages = 1, 1
    while page_number <= pages:
        page = carriers.list_carriers(session, who, ListQuery(
            sort="name", page=page_number, per_page=MAX_PER_PAGE))
        out.extend((c.id, c.name) for c in page.items)
        pages = page.pages
        page_number += 1
    return out


def card_rows(session: Session, cards: list[ProviderCard]) -> list[dict[str, Any]]:
    """The service's view of each card plus its carrier's name and its active revision."""
    names = carrier_names(session, {c.carrier_id for c in cards})
    rows = []
    for card in cards:
        row = service.to_dict(card)
        active = revisions.active_revision(session, card)
        row["carrier"] = names.get(card.carrier_id, f"#{card.carrier_id}")
        row["active_revision"] = active.number if active else None
        row["active_revision_id"] = active.id if active else None
        row["rows"] = active.row_count if active else None
        rows.append(row)
    return rows
