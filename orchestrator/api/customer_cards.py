"""/api/v1/customer-cards: customer rate cards with their parents, on the service.

Profit rules, revisions, rates, changes and routing:
``orchestrator.api.ratecard_children``.
"""

from __future__ import annotations

from typing import Any

from apiflask import Schema, fields
from apiflask.validators import Length
from sqlalchemy.orm import object_session

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import resource_blueprint
from orchestrator.api.carriers import dotted_fields, schema_class
from orchestrator.api.fields import UtcDateTime
from orchestrator.api.listing import ListArgs, envelope, list_query, page_of
from orchestrator.api.provider_cards import active_revision_id, base_currency, id_field
from orchestrator.ratecards import customer_cards as service
from orchestrator.ratecards import revisions
from orchestrator.ratecards.models import (
    COLLAPSE_USING,
    PRESENTATIONS,
    RATE_COMPACT,
    ROUNDING,
    STRATEGIES,
    CustomerCard,
)

bp = resource_blueprint("api_customer_cards", "Customer rate cards")
# The list comes last: a schema used alone must be registered before its page.


def _parent_fields() -> dict[str, fields.Field[Any]]:
    return {
        "provider_card_id": fields.Integer(required=True),
        "weight": fields.Integer(allow_none=True, metadata={"description": "1-100, "
                                                            "default 1"}),
        "priority": fields.Integer(allow_none=True, metadata={
            "description": "0-99, default 0; lower is tried first"}),
    }


ParentIn = schema_class("CustomerCardParentIn", _parent_fields())


class ParentOut(Schema):
    provider_card_id = fields.Integer(required=True)
    weight = fields.Integer(required=True)
    priority = fields.Integer(required=True)
    position = fields.Integer(required=True)


def customer_fields(create: bool) -> dict[str, fields.Field[Any]]:
    """Types only: the service checks the values and names every bad field."""
    opt: dict[str, Any] = {} if create else {"allow_none": True}

    def text(limit: int, description: str = "", **kwargs: Any) -> fields.String:
        return fields.String(validate=Length(max=limit), **opt, **kwargs,
                             metadata={"description": description} if description else {})

    return {
        "name": text(200, "unique, 1-100 characters", required=create),
        "public_name": text(200, "the name customers see"),
        "currency": text(10, "ISO 4217; fixed after creation", required=create),
        "notes": text(10_000),
        "rate_compact": text(10, ", ".join(RATE_COMPACT)),
        "collapse_using": text(10, ", ".join(COLLAPSE_USING)),
        "collapse": fields.Boolean(**opt),
        "force_presentation": text(40, ", ".join(PRESENTATIONS)),
        "strategy": text(20, ", ".join(STRATEGIES)),
        "precision": fields.Integer(**opt, metadata={"description": "decimals, 0-8"}),
        "rounding": text(20, ", ".join(ROUNDING)),
        "notice_days": fields.Integer(**opt, metadata={"description": "0-365, default 7"}),
        "external": fields.Boolean(**opt, metadata={"description": "uploaded, not built"}),
        "parents": fields.List(fields.Nested(ParentIn), validate=Length(max=100), **opt,
                               metadata={"description": "provider cards, in order; "
                                         "replaced as a whole when given"}),
    }


CustomerCardCreateIn = schema_class("CustomerCardCreateIn", customer_fields(True))
CustomerCardPatchIn = schema_class("CustomerCardPatchIn", customer_fields(False))


def _stale(card: CustomerCard) -> bool:
    session = object_session(card)
    assert session is not None
    return revisions.stale(session, card)


class CustomerCardOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    public_name = fields.String(required=True)
    currency = fields.String(required=True)
    notes = fields.String(required=True)
    rate_compact = fields.String(required=True, metadata={"enum": list(RATE_COMPACT)})
    collapse_using = fields.String(required=True, metadata={"enum": list(COLLAPSE_USING)})
    collapse = fields.Boolean(required=True)
    force_presentation = fields.String(required=True, metadata={"enum": list(PRESENTATIONS)})
    strategy = fields.String(required=True, metadata={"enum": list(STRATEGIES)})
    precision = fields.Integer(required=True)
    rounding = fields.String(required=True, metadata={"enum": list(ROUNDING)})
    notice_days = fields.Integer(required=True)
    external = fields.Boolean(required=True)
    parents = fields.List(fields.Nested(ParentOut), required=True)
    active_revision_id = fields.Function(
        active_revision_id, required=True, allow_none=True,
        metadata={"type": "integer", "nullable": True,
                  "description": "the revision in force, null before the first"})
    stale = fields.Function(_stale, required=True, metadata={
        "type": "boolean", "description": "a parent has a newer active revision than the "
        "last build used (always false for external cards)"})
    created_at = UtcDateTime(required=True)
    updated_at = UtcDateTime(allow_none=True)


class CustomerCardListArgs(ListArgs):
    provider_card_id = id_field("only cards with this parent")
    external = fields.Boolean()


@bp.post("/customer-cards")
@api_auth("write")
@bp.input(CustomerCardCreateIn, arg_name="body")
@bp.output(CustomerCardOut, status_code=201)
@bp.doc(summary="Create a customer rate card", description="With its `parents`.",
        responses={409: "The name exists"})
def create_customer_card(ctx: ApiContext, body: dict[str, Any]) -> CustomerCard:
    with dotted_fields():
        return service.create_customer_card(ctx.db, ctx.actor, body,
                                            base_currency=base_currency())


@bp.get("/customer-cards/<int:card_id>")
@api_auth("read")
@bp.output(CustomerCardOut)
@bp.doc(summary="Get a customer rate card")
def get_customer_card(ctx: ApiContext, card_id: int) -> CustomerCard:
    return service.get_customer_card(ctx.db, ctx.actor, card_id)


@bp.patch("/customer-cards/<int:card_id>")
@api_auth("write")
@bp.input(CustomerCardPatchIn, arg_name="body")
@bp.output(CustomerCardOut)
@bp.doc(summary="Change a customer rate card", description="Only the fields given "
        "change; `null` keeps a value; `parents` replaces the whole list. `currency` "
        "cannot change.", responses={409: "The name exists"})
def update_customer_card(ctx: ApiContext, card_id: int, body: dict[str, Any]) -> CustomerCard:
    with dotted_fields():
        return service.update_customer_card(ctx.db, ctx.actor, card_id, body,
                                            base_currency=base_currency())


@bp.delete("/customer-cards/<int:card_id>")
@api_auth("write")
@bp.output({}, status_code=204)
@bp.doc(summary="Delete a customer rate card", description="With its parents, profit "
        "rules, revisions and rates.", responses={409: "The card is in use"})
def delete_customer_card(ctx: ApiContext, card_id: int) -> tuple[str, int]:
    service.delete_customer_card(ctx.db, ctx.actor, card_id)
    return "", 204


@bp.get("/customer-cards")
@api_auth("read")
@bp.input(CustomerCardListArgs, location="query", arg_name="args")
@bp.output(page_of(CustomerCardOut))
@bp.doc(summary="List customer rate cards", description="`q` searches name, public name "
        "and notes; sort by id, name, public_name, currency, strategy, external, "
        "created_at, updated_at; filter by `provider_card_id` (a parent), `external`.")
def list_customer_cards(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    return envelope(service.list_customer_cards(
        ctx.db, ctx.actor, list_query(args), provider_card_id=args.get("provider_card_id"),
        external=args.get("external")))
