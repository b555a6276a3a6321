"""Revisions, rates and changes of both kinds of card; profit rules and routing of
customer cards. Money comes out as decimal strings with 8 places (exact units)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apiflask import APIBlueprint, Schema, fields
from apiflask.validators import Length, OneOf, Range

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import resource_blueprint
from orchestrator.api.carriers import schema_class
from orchestrator.api.fields import Money, UtcDateTime
from orchestrator.api.listing import ListArgs, envelope, page_list, page_of
from orchestrator.api.provider_cards import DECIMAL_DOC, id_field, units_out, units_string
from orchestrator.ratecards import customer_cards, profit_rules, provider_cards, revisions
from orchestrator.ratecards.models import (
    CHANGE_KINDS,
    RATE_STATUSES,
    REVISION_STATES,
    ROUNDING,
    RULE_STATUSES,
    RULE_TYPES,
    ProfitRule,
    RateRevision,
)
from orchestrator.ratecards.revisions import Card

bp = resource_blueprint("api_ratecard_children", "Rate card contents")
# Lists come last: a schema used alone must be registered before its page.

Loader = Callable[[ApiContext, int], Card]
KINDS: dict[str, Loader] = {
    "provider-cards": lambda ctx, i: provider_cards.get_provider_card(ctx.db, ctx.actor, i),
    "customer-cards": lambda ctx, i: customer_cards.get_customer_card(ctx.db, ctx.actor, i),
}
PREFIX_ARG = fields.String(load_default="", validate=Length(max=20),
                           metadata={"description": "prefixes starting with these digits"})


class RevisionOut(Schema):
    id = fields.Integer(required=True)
    number = fields.Integer(required=True)
    state = fields.String(required=True, metadata={"enum": list(REVISION_STATES)})
    date_live = UtcDateTime(required=True, allow_none=True)
    created_at = UtcDateTime(required=True)
    activated_at = UtcDateTime(required=True, allow_none=True)
    row_count = fields.Integer(required=True)
    source = fields.String(required=True)
    parent_revisions = fields.Dict(required=True, allow_none=True, metadata={
        "description": "{provider_card_id: revision_id} the build used"})
    changes = fields.Dict(required=True, allow_none=True, metadata={
        "description": "counts new/increase/decrease/unchanged/closed"})


class RevisionPatchIn(Schema):
    date_live = UtcDateTime(required=True, allow_none=True, metadata={
        "description": "when the draft goes live by itself; null unschedules"})


class CandidateOut(Schema):
    provider_card_id = fields.Integer(required=True)
    cost = fields.Function(lambda c: units_string(c["cost"]), required=True,
                           metadata={**DECIMAL_DOC, "description": "in the card's currency"})


def _rate_fields() -> dict[str, fields.Field[Any]]:
    return {
        "prefix": fields.String(required=True), "name": fields.String(required=True),
        "rate": units_out("rate", "per minute"),
        "inter": units_out("inter", "interstate, per minute", nullable=True),
        "intra": units_out("intra", "intrastate, per minute", nullable=True),
        "mcd": fields.Integer(required=True), "pulse": fields.Integer(required=True),
        "connect_fee": units_out("connect_fee", "per answered call"),
        "status": fields.String(required=True, metadata={"enum": list(RATE_STATUSES)}),
        "candidates": fields.List(fields.Nested(CandidateOut), required=True, metadata={
            "description": "customer cards: the routing table, in strategy order"}),
    }


RateOut = schema_class("RateOut", _rate_fields())
RouteOut = schema_class("RouteOut", _rate_fields() | {
    "revision_id": fields.Integer(required=True)})


class RatePage(Schema):
    revision_id = fields.Integer(required=True, allow_none=True)
    items = fields.List(fields.Nested(RateOut), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


class RateArgs(ListArgs):
    revision = id_field("a revision of this card; default the active one")
    prefix = PREFIX_ARG


class ChangeOut(Schema):
    prefix = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": list(CHANGE_KINDS)})
    old_rate = units_out("old_rate", "", nullable=True)
    new_rate = units_out("new_rate", "", nullable=True)
    old_inter = units_out("old_inter", "", nullable=True)
    new_inter = units_out("new_inter", "", nullable=True)
    old_intra = units_out("old_intra", "", nullable=True)
    new_intra = units_out("new_intra", "", nullable=True)


class ChangePage(Schema):
    revision_id = fields.Integer(required=True, allow_none=True)
    baseline_revision_id = fields.Integer(required=True, allow_none=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    items = fields.List(fields.Nested(ChangeOut), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


class ChangeArgs(RateArgs):
    kind = fields.String(validate=OneOf(CHANGE_KINDS))


def _revision_or_default(ctx: ApiContext, card: Card, revision_id: int | None,
                         ) -> RateRevision | None:
    if revision_id is not None:
        return revisions.get_revision(ctx.db, ctx.actor, card, revision_id)
    drafts = [r for r in revisions.list_revisions(ctx.db, ctx.actor, card)
              if r.state == "draft"]
    return revisions.active_revision(ctx.db, card) if not drafts else drafts[0]


def _add_card_routes(blueprint: APIBlueprint, kind: str, load: Loader) -> None:
    base = f"/{kind}/<int:card_id>/revisions"
    tag = kind.replace("-", "_")
    not_found = {404: "No such card or revision"}

    def card(ctx: ApiContext, card_id: int) -> Card:
        return load(ctx, card_id)

    @blueprint.post(base, endpoint=f"{tag}_new_revision")
    @api_auth("write")
    @blueprint.output(RevisionOut, status_code=201)
    @blueprint.doc(summary="Create a draft revision", description="A copy of the active "
                   "revision's rows (empty when there is none).", responses=not_found)
    def new_revision(ctx: ApiContext, card_id: int) -> RateRevision:
        return revisions.create_draft_copy(ctx.db, ctx.actor, card(ctx, card_id))

    @blueprint.get(f"{base}/<int:revision_id>", endpoint=f"{tag}_get_revision")
    @api_auth("read")
    @blueprint.output(RevisionOut)
    @blueprint.doc(summary="Get a revision", responses=not_found)
    def get_revision(ctx: ApiContext, card_id: int, revision_id: int) -> RateRevision:
        return revisions.get_revision(ctx.db, ctx.actor, card(ctx, card_id), revision_id)

    @blueprint.patch(f"{base}/<int:revision_id>", endpoint=f"{tag}_schedule_revision")
    @api_auth("write")
    @blueprint.input(RevisionPatchIn, arg_name="body")
    @blueprint.output(RevisionOut)
    @blueprint.doc(summary="Schedule a draft", responses={
        **not_found, 409: "Not a draft"})
    def schedule(ctx: ApiContext, card_id: int, revision_id: int,
                 body: dict[str, Any]) -> RateRevision:
        return revisions.schedule(ctx.db, ctx.actor, card(ctx, card_id), revision_id,
                                  body["date_live"])

    @blueprint.delete(f"{base}/<int:revision_id>", endpoint=f"{tag}_delete_revision")
    @api_auth("write")
    @blueprint.output({}, status_code=204)
    @blueprint.doc(summary="Delete a draft", responses={**not_found, 409: "Not a draft"})
    def delete(ctx: ApiContext, card_id: int, revision_id: int) -> tuple[str, int]:
        revisions.delete_draft(ctx.db, ctx.actor, card(ctx, card_id), revision_id)
        return "", 204

    @blueprint.post(f"{base}/<int:revision_id>/activate", endpoint=f"{tag}_activate")
    @api_auth("write")
    @blueprint.output(RevisionOut)
    @blueprint.doc(summary="Activate a revision", description="The active one is "
                   "archived. A customer revision that raises or closes rates is refused "
                   "before created_at + notice_days.", responses={
                       **not_found, 409: "Already active, or inside the notice period"})
    def activate(ctx: ApiContext, card_id: int, revision_id: int) -> RateRevision:
        return revisions.activate(ctx.db, ctx.actor, card(ctx, card_id), revision_id)

    @blueprint.get(base, endpoint=f"{tag}_list_revisions")
    @api_auth("read")
    @blueprint.input(ListArgs, location="query", arg_name="args")
    @blueprint.output(page_of(RevisionOut))
    @blueprint.doc(summary="List revisions", description="Newest first; `q` searches "
                   "source and state; sort by id, number, state, created_at, row_count.",
                   responses={404: "No such card"})
    def list_revisions(ctx: ApiContext, card_id: int, args: dict[str, Any]) -> dict[str, Any]:
        rows = revisions.list_revisions(ctx.db, ctx.actor, card(ctx, card_id))
        return page_list(rows, args, ("source", "state"),
                         ("id", "number", "state", "created_at", "row_count"), "-number")

    @blueprint.get(f"/{kind}/<int:card_id>/rates", endpoint=f"{tag}_rates")
    @api_auth("read")
    @blueprint.input(RateArgs, location="query", arg_name="args")
    @blueprint.output(RatePage)
    @blueprint.doc(summary="Browse a revision's rates", description="In prefix order; "
                   "`prefix` keeps prefixes starting with it, `q` searches the name. "
                   "Default: the active revision (empty page without one).",
                   responses=not_found)
    def rates(ctx: ApiContext, card_id: int, args: dict[str, Any]) -> dict[str, Any]:
        the_card = card(ctx, card_id)
        revision = (revisions.get_revision(ctx.db, ctx.actor, the_card, args["revision"])
                    if args.get("revision") else revisions.active_revision(ctx.db, the_card))
        page = revisions.rates_page(ctx.db, revision.id if revision else 0,
                                    prefix=args["prefix"], q=args["q"], page=args["page"],
                                    per_page=args["per_page"])
        return envelope(page) | {"revision_id": revision.id if revision else None}

    @blueprint.get(f"/{kind}/<int:card_id>/changes", endpoint=f"{tag}_changes")
    @api_auth("read")
    @blueprint.input(ChangeArgs, location="query", arg_name="args")
    @blueprint.output(ChangePage)
    @blueprint.doc(summary="Rate changes of a revision", description="Each prefix "
                   "against the baseline (for a draft the active revision, else the one "
                   "active before it). Default revision: the newest draft, else the "
                   "active one. `kind` filters, `prefix` as for rates.",
                   responses=not_found)
    def changes(ctx: ApiContext, card_id: int, args: dict[str, Any]) -> dict[str, Any]:
        the_card = card(ctx, card_id)
        revision = _revision_or_default(ctx, the_card, args.get("revision"))
        base = revisions.baseline(ctx.db, revision) if revision else None
        new_id, old_id = (revision.id if revision else 0), (base.id if base else None)
        counts = revisions.classify_changes(ctx.db, new_id, old_id)
        page = revisions.changes_page(ctx.db, new_id, old_id, kind=args.get("kind", ""),
                                      prefix=args["prefix"], page=args["page"],
                                      per_page=args["per_page"])
        return envelope(page) | {"revision_id": revision.id if revision else None,
                                 "baseline_revision_id": old_id, "counts": counts}


for _kind, _load in KINDS.items():
    _add_card_routes(bp, _kind, _load)


class RouteArgs(Schema):
    prefix = fields.String(required=True, validate=Length(min=1, max=32),
                           metadata={"description": "a dialled number (digits)"})


@bp.get("/customer-cards/<int:card_id>/routing")
@api_auth("read")
@bp.input(RouteArgs, location="query", arg_name="args")
@bp.output(RouteOut)
@bp.doc(summary="Route a number", description="The active revision's longest-prefix row "
        "for the number, with its candidate provider cards in strategy order.",
        responses={404: "No such card, no active revision, or no prefix matches"})
def routing(ctx: ApiContext, card_id: int, args: dict[str, Any]) -> dict[str, Any]:
    card = customer_cards.get_customer_card(ctx.db, ctx.actor, card_id)
    return revisions.route(ctx.db, card, args["prefix"])


def _rule_fields() -> dict[str, fields.Field[Any]]:
    opt: dict[str, Any] = {"allow_none": True}
    return {
        "match": fields.String(validate=Length(max=300), **opt, metadata={
            "description": "digits = that exact prefix; else a regex from the start; "
            "empty = every prefix"}),
        "type": fields.String(validate=Length(max=20), **opt,
                              metadata={"description": ", ".join(RULE_TYPES)}),
        "value": Money(**opt, metadata={
            "description": "percent (>= -100), amount added, or the rate"}),
        "mcd": fields.Integer(**opt, metadata={"description": "seconds; null = parents'"}),
        "pulse": fields.Integer(**opt, metadata={"description": "seconds; null = parents'"}),
        "connect_fee": Money(**opt, metadata={"description": ">= 0; null = parents'"}),
        "rounding": fields.String(validate=Length(max=20), **opt, metadata={
            "description": ", ".join(ROUNDING) + "; null = the card's"}),
        "name_override": fields.String(validate=Length(max=200), **opt),
        "status": fields.String(validate=Length(max=20), **opt,
                                metadata={"description": ", ".join(RULE_STATUSES)}),
    }


RuleCreateIn = schema_class("ProfitRuleCreateIn", _rule_fields())
RulePatchIn = schema_class("ProfitRulePatchIn", _rule_fields())


class RuleOut(Schema):
    id = fields.Integer(required=True)
    customer_card_id = fields.Integer(required=True)
    position = fields.Integer(required=True, metadata={"description": "0-based order"})
    match = fields.String(required=True)
    type = fields.String(required=True, metadata={"enum": list(RULE_TYPES)})
    value = fields.String(required=True, metadata=DECIMAL_DOC)
    mcd = fields.Integer(required=True, allow_none=True)
    pulse = fields.Integer(required=True, allow_none=True)
    connect_fee = fields.String(required=True, allow_none=True, metadata=DECIMAL_DOC)
    rounding = fields.String(required=True, allow_none=True,
                             metadata={"enum": [*ROUNDING, None]})
    name_override = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(RULE_STATUSES)})


class MoveIn(Schema):
    position = fields.Integer(required=True, validate=Range(min=0, max=1_000_000),
                              metadata={"description": "0-based place to move the rule to"})


RULES = "/customer-cards/<int:card_id>/profit-rules"
RULE_404: dict[int, str] = {404: "No such card or rule"}


def _rule_list(rules: list[ProfitRule]) -> dict[str, Any]:
    return {"items": rules, "total": len(rules), "page": 1, "per_page": max(1, len(rules))}


@bp.post(RULES)
@api_auth("write")
@bp.input(RuleCreateIn, arg_name="body")
@bp.output(RuleOut, status_code=201)
@bp.doc(summary="Add a profit rule", description="Appended after the others.",
        responses={404: "No such card"})
def add_rule(ctx: ApiContext, card_id: int, body: dict[str, Any]) -> ProfitRule:
    return profit_rules.add_rule(ctx.db, ctx.actor, card_id, body)


@bp.get(f"{RULES}/<int:rule_id>")
@api_auth("read")
@bp.output(RuleOut)
@bp.doc(summary="Get a profit rule", responses=RULE_404)
def get_rule(ctx: ApiContext, card_id: int, rule_id: int) -> ProfitRule:
    return profit_rules.get_rule(ctx.db, ctx.actor, card_id, rule_id)


@bp.patch(f"{RULES}/<int:rule_id>")
@api_auth("write")
@bp.input(RulePatchIn, arg_name="body")
@bp.output(RuleOut)
@bp.doc(summary="Change a profit rule", description="Fields left out keep their value; "
        "`null` clears mcd, pulse, connect_fee and rounding.", responses=RULE_404)
def update_rule(ctx: ApiContext, card_id: int, rule_id: int, body: dict[str, Any]
                ) -> ProfitRule:
    return profit_rules.update_rule(ctx.db, ctx.actor, card_id, rule_id, body)


@bp.delete(f"{RULES}/<int:rule_id>")
@api_auth("write")
@bp.output({}, status_code=204)
@bp.doc(summary="Remove a profit rule", responses=RULE_404)
def delete_rule(ctx: ApiContext, card_id: int, rule_id: int) -> tuple[str, int]:
    profit_rules.delete_rule(ctx.db, ctx.actor, card_id, rule_id)
    return "", 204


@bp.post(f"{RULES}/<int:rule_id>/move")
@api_auth("write")
@bp.input(MoveIn, arg_name="body")
@bp.output(page_of(RuleOut))
@bp.doc(summary="Move a profit rule", description="To `position` (0-based); answers every "
        "rule of the card in the new order.", responses=RULE_404)
def move_rule(ctx: ApiContext, card_id: int, rule_id: int, body: dict[str, Any]
              ) -> dict[str, Any]:
    return _rule_list(profit_rules.move_rule(ctx.db, ctx.actor, card_id, rule_id,
                                             body["position"]))


@bp.post(f"{RULES}/import-from-parents")
@api_auth("write")
@bp.output(page_of(RuleOut))
@bp.doc(summary="Import rules from the parents", description="One rule (percent 0) per "
        "destination name of the parents' active revisions, appended; answers the rules "
        "created.", responses={404: "No such card"})
def import_rules(ctx: ApiContext, card_id: int) -> dict[str, Any]:
    return _rule_list(profit_rules.import_from_parents(ctx.db, ctx.actor, card_id))


@bp.get(RULES)
@api_auth("read")
@bp.input(ListArgs, location="query", arg_name="args")
@bp.output(page_of(RuleOut))
@bp.doc(summary="List a card's profit rules", description="In order (the first matching "
        "rule wins); `q` searches match and name_override; sort by position, id, type, "
        "status.", responses={404: "No such card"})
def list_rules(ctx: ApiContext, card_id: int, args: dict[str, Any]) -> dict[str, Any]:
    rows = profit_rules.list_rules(ctx.db, ctx.actor, card_id)
    return page_list(rows, args, ("match", "name_override"),
                     ("position", "id", "type", "status"), "position")
