"""/api/v1/provider-cards: provider rate cards, on the provider card service.

Also the schema helpers every rate card module shares (money in units of 10^-8 out
as decimal strings, the active revision of a card). Revisions, rates and changes:
``orchestrator.api.ratecard_children``.
"""

from __future__ import annotations

from typing import Any

from apiflask import Schema, fields
from apiflask.validators import Length, Range
from sqlalchemy.orm import object_session

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import MAX_ID, resource_blueprint
from orchestrator.api.carriers import schema_class
from orchestrator.api.fields import UtcDateTime
from orchestrator.api.listing import ListArgs, envelope, list_query, page_of
from orchestrator.ratecards import provider_cards as service
from orchestrator.ratecards import revisions
from orchestrator.ratecards.models import DIALING, PRESENTATIONS, CustomerCard, ProviderCard
from orchestrator.ratecards.money import format_units
from webui.state import web_state

bp = resource_blueprint("api_provider_cards", "Provider rate cards")
# The list comes last: a schema used alone must be registered before its page.

DECIMAL_DOC = {"type": "string", "format": "decimal", "example": "0.01230000"}


def base_currency() -> str:
    """settings.base_currency of the app serving this request."""
    return web_state().settings.base_currency


def units_string(value: int | None) -> str | None:
    return None if value is None else format_units(int(value))


def units_out(key: str, description: str, *, nullable: bool = False) -> fields.Function:
    """An integer-units money value of a row mapping as a decimal string (8 places)."""
    return fields.Function(lambda row: units_string(row[key]), required=True,
                           allow_none=nullable,
                           metadata={**DECIMAL_DOC, "description": description,
                                     **({"nullable": True} if nullable else {})})


def active_revision_id(card: ProviderCard | CustomerCard) -> int | None:
    session = object_session(card)
    assert session is not None  # a card the service just loaded or stored
    active = revisions.active_revision(session, card)
    return active.id if active else None


def id_field(description: str, **kwargs: Any) -> fields.Integer:
    return fields.Integer(validate=Range(min=1, max=MAX_ID),
                          metadata={"description": description}, **kwargs)


def provider_fields(create: bool) -> dict[str, fields.Field[Any]]:
    """Types only: the service checks the values and names every bad field."""
    opt: dict[str, Any] = {} if create else {"allow_none": True}

    def text(limit: int, description: str = "", **kwargs: Any) -> fields.String:
        return fields.String(validate=Length(max=limit), **opt, **kwargs,
                             metadata={"description": description} if description else {})

    return {
        "name": text(200, "unique, 1-100 characters", required=create),
        "carrier_id": fields.Integer(required=create, **opt,
                                     metadata={"description": "the carrier it prices"}),
        "currency": text(10, "ISO 4217; fixed after creation", required=create),
        "tech_prefix": text(40, "digits prepended to the number sent to the carrier"),
        "force_presentation": text(40, ", ".join(PRESENTATIONS)),
        "dialing": text(40, ", ".join(DIALING)),
        "notes_public": text(10_000),
        "notes_private": text(10_000),
    }


ProviderCardCreateIn = schema_class("ProviderCardCreateIn", provider_fields(True))
ProviderCardPatchIn = schema_class("ProviderCardPatchIn", provider_fields(False))


class ProviderCardOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    carrier_id = fields.Integer(required=True)
    currency = fields.String(required=True)
    tech_prefix = fields.String(required=True)
    force_presentation = fields.String(required=True, metadata={"enum": list(PRESENTATIONS)})
    dialing = fields.String(required=True, metadata={"enum": list(DIALING)})
    notes_public = fields.String(required=True)
    notes_private = fields.String(required=True)
    active_revision_id = fields.Function(
        active_revision_id, required=True, allow_none=True,
        metadata={"type": "integer", "nullable": True,
                  "description": "the revision in force, null before the first"})
    created_at = UtcDateTime(required=True)
    updated_at = UtcDateTime(allow_none=True)


class ProviderCardListArgs(ListArgs):
    carrier_id = id_field("only this carrier's cards")
    currency = fields.String(validate=Length(max=10))


@bp.post("/provider-cards")
@api_auth("write")
@bp.input(ProviderCardCreateIn, arg_name="body")
@bp.output(ProviderCardOut, status_code=201)
@bp.doc(summary="Create a provider rate card", responses={409: "The name exists"})
def create_provider_card(ctx: ApiContext, body: dict[str, Any]) -> ProviderCard:
    return service.create_provider_card(ctx.db, ctx.actor, body)


@bp.get("/provider-cards/<int:card_id>")
@api_auth("read")
@bp.output(ProviderCardOut)
@bp.doc(summary="Get a provider rate card")
def get_provider_card(ctx: ApiContext, card_id: int) -> ProviderCard:
    return service.get_provider_card(ctx.db, ctx.actor, card_id)


@bp.patch("/provider-cards/<int:card_id>")
@api_auth("write")
@bp.input(ProviderCardPatchIn, arg_name="body")
@bp.output(ProviderCardOut)
@bp.doc(summary="Change a provider rate card", description="Only the fields given "
        "change; `null` keeps a value. `currency` cannot change.",
        responses={409: "The name exists"})
def update_provider_card(ctx: ApiContext, card_id: int, body: dict[str, Any]) -> ProviderCard:
    return service.update_provider_card(ctx.db, ctx.actor, card_id, body)


@bp.delete("/provider-cards/<int:card_id>")
@api_auth("write")
@bp.output({}, status_code=204)
@bp.doc(summary="Delete a provider rate card", description="With its revisions and rates.",
        responses={409: "A customer card uses it as a parent"})
def delete_provider_card(ctx: ApiContext, card_id: int) -> tuple[str, int]:
    service.delete_provider_card(ctx.db, ctx.actor, card_id)
    return "", 204


@bp.get("/provider-cards")
@api_auth("read")
@bp.input(ProviderCardListArgs, location="query", arg_name="args")
@bp.output(page_of(ProviderCardOut))
@bp.doc(summary="List provider rate cards", description="`q` searches name and public "
        "notes; sort by id, name, currency, carrier_id, created_at, updated_at; filter by "
        "`carrier_id`, `currency`.")
def list_provider_cards(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    return envelope(service.list_provider_cards(ctx.db, ctx.actor, list_query(args),
                                                carrier_id=args.get("carrier_id"),
                                                currency=args.get("currency")))
