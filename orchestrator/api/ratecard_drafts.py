"""Editing draft revisions of both kinds of card: add, change and delete one rate row,
and the filtered transformation (preview, apply). Service:
``orchestrator.ratecards.draft_edits``; an active or archived revision answers 409."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apiflask import APIBlueprint, Schema, fields
from apiflask.validators import Length

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import resource_blueprint
from orchestrator.api.carriers import schema_class
from orchestrator.api.fields import Money
from orchestrator.api.ratecard_children import KINDS, Loader, _rate_fields
from orchestrator.ratecards import draft_edits, draft_transform
from orchestrator.ratecards.models import RATE_STATUSES
from orchestrator.ratecards.revisions import Card, parse_candidates

bp = resource_blueprint("api_ratecard_drafts", "Rate card drafts")

DraftRateOut = schema_class("DraftRateOut", _rate_fields())
TransformRateOut = schema_class("TransformRateOut", _rate_fields())


def _row_fields(create: bool) -> dict[str, fields.Field[Any]]:
    """Types only: the service checks the values as it checks a deck row."""
    opt: dict[str, Any] = {"allow_none": True}
    out: dict[str, fields.Field[Any]] = {
        "name": fields.String(validate=Length(max=400), **opt,
                              metadata={"description": "destination, up to 200 characters"}),
        "rate": Money(required=create, **opt, metadata={
            "description": "per minute, >= 0, at most 8 decimals"}),
        "inter": Money(**opt, metadata={"description": "interstate; null = none"}),
        "intra": Money(**opt, metadata={"description": "intrastate; null = none"}),
        "mcd": fields.Integer(**opt, metadata={"description": "seconds 1-3600; null = 1"}),
        "pulse": fields.Integer(**opt, metadata={"description": "seconds 1-3600; null = 1"}),
        "connect_fee": Money(**opt, metadata={"description": "per answered call; null = 0"}),
        "status": fields.String(validate=Length(max=20), **opt, metadata={
            "description": ", ".join(RATE_STATUSES) + "; null = active"}),
    }
    if create:
        out = {"prefix": fields.String(required=True, validate=Length(max=40), metadata={
            "description": "1-20 digits, not yet in the revision"})} | out
    return out


RateCreateIn = schema_class("DraftRateCreateIn", _row_fields(True))
RatePatchIn = schema_class("DraftRatePatchIn", _row_fields(False))


class TransformFilterIn(Schema):
    prefix = fields.String(validate=Length(max=300), allow_none=True, metadata={
        "description": "regular expression (profit rule dialect) matched from the start "
        "of the prefix; digits alone = prefixes starting with them; empty = all"})
    name = fields.String(validate=Length(max=300), allow_none=True, metadata={
        "description": "destination name contains (case-insensitive)"})
    rate_min = Money(allow_none=True, metadata={"description": "rate >= this"})
    rate_max = Money(allow_none=True, metadata={"description": "rate <= this"})
    status = fields.String(validate=Length(max=20), allow_none=True,
                           metadata={"description": ", ".join(RATE_STATUSES)})


class TransformChangeIn(Schema):
    type = fields.String(required=True, validate=Length(max=30), metadata={
        "description": ", ".join(draft_transform.CHANGE_TYPES)})
    value = Money(allow_none=True, metadata={
        "description": "set_rate: the rate; add_rate: added (may be negative); "
        "multiply_rate: the factor (rounded half-up to 8 decimals)"})
    mcd = fields.Integer(allow_none=True, metadata={"description": "set_billing"})
    pulse = fields.Integer(allow_none=True, metadata={"description": "set_billing"})
    status = fields.String(validate=Length(max=20), allow_none=True,
                           metadata={"description": "set_status"})


class TransformIn(Schema):
    filter = fields.Nested(TransformFilterIn, load_default=dict, metadata={
        "description": "which rows; every condition given must hold; {} = every row"})
    change = fields.Nested(TransformChangeIn, required=True)


class TransformRowOut(Schema):
    prefix = fields.String(required=True)
    before = fields.Nested(TransformRateOut, required=True)
    after = fields.Nested(TransformRateOut, required=True)


class TransformPreviewOut(Schema):
    count = fields.Integer(required=True, metadata={"description": "rows the filter selects"})
    sample = fields.List(fields.Nested(TransformRowOut), required=True, metadata={
        "description": f"the first {draft_transform.SAMPLE_ROWS} of them, in prefix order"})


class TransformOut(Schema):
    count = fields.Integer(required=True, metadata={"description": "rows changed"})


def _out(row: Mapping[str, Any]) -> dict[str, Any]:
    return dict(row) | {"candidates": parse_candidates(row.get("candidates"))}


def _given(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """The fields sent with a value (null = left out)."""
    return {k: v for k, v in (values or {}).items() if v is not None}


def _add_routes(blueprint: APIBlueprint, kind: str, load: Loader) -> None:
    base = f"/{kind}/<int:card_id>/revisions/<int:revision_id>"
    tag = kind.replace("-", "_")
    refusals = {404: "No such card or revision", 409: "The revision is not a draft"}
    row_refusals = {404: "No such card, revision or prefix",
                    409: "The revision is not a draft"}

    def card(ctx: ApiContext, card_id: int) -> Card:
        return load(ctx, card_id)

    @blueprint.post(f"{base}/rates", endpoint=f"{tag}_add_rate")
    @api_auth("write")
    @blueprint.input(RateCreateIn, arg_name="body")
    @blueprint.output(DraftRateOut, status_code=201)
    @blueprint.doc(summary="Add a rate to a draft", description="Validated as a deck row; "
                   "the prefix must not be in the revision yet.", responses=refusals)
    def add_rate(ctx: ApiContext, card_id: int, revision_id: int,
                 body: dict[str, Any]) -> dict[str, Any]:
        return _out(draft_edits.add_rate(ctx.db, ctx.actor, card(ctx, card_id), revision_id,
                                         body))

    @blueprint.patch(f"{base}/rates/<prefix>", endpoint=f"{tag}_update_rate")
    @api_auth("write")
    @blueprint.input(RatePatchIn, arg_name="body")
    @blueprint.output(DraftRateOut)
    @blueprint.doc(summary="Change a rate of a draft", description="Fields left out keep "
                   "their value; null empties a field (inter/intra none, mcd/pulse 1, "
                   "connect_fee 0, status active; rate may not be emptied).",
                   responses=row_refusals)
    def update_rate(ctx: ApiContext, card_id: int, revision_id: int, prefix: str,
                    body: dict[str, Any]) -> dict[str, Any]:
        return _out(draft_edits.update_rate(ctx.db, ctx.actor, card(ctx, card_id),
                                            revision_id, prefix, body))

    @blueprint.delete(f"{base}/rates/<prefix>", endpoint=f"{tag}_delete_rate")
    @api_auth("write")
    @blueprint.output({}, status_code=204)
    @blueprint.doc(summary="Delete a rate of a draft", responses=row_refusals)
    def delete_rate(ctx: ApiContext, card_id: int, revision_id: int,
                    prefix: str) -> tuple[str, int]:
        draft_edits.delete_rate(ctx.db, ctx.actor, card(ctx, card_id), revision_id, prefix)
        return "", 204

    @blueprint.post(f"{base}/transform/preview", endpoint=f"{tag}_transform_preview")
    @api_auth("write")
    @blueprint.input(TransformIn, arg_name="body")
    @blueprint.output(TransformPreviewOut)
    @blueprint.doc(summary="Preview a filtered transformation", description="How many "
                   "rows the filter selects and the first ones before and after the "
                   "change; nothing is changed.", responses=refusals)
    def preview(ctx: ApiContext, card_id: int, revision_id: int,
                body: dict[str, Any]) -> dict[str, Any]:
        found = draft_transform.preview_transform(ctx.db, ctx.actor, card(ctx, card_id),
                                              revision_id, _given(body.get("filter")),
                                              _given(body["change"]))
        return {"count": found["count"], "sample": [
            {"prefix": s["prefix"], "before": _out(s["before"]), "after": _out(s["after"])}
            for s in found["sample"]]}

    @blueprint.post(f"{base}/transform", endpoint=f"{tag}_transform")
    @api_auth("write")
    @blueprint.input(TransformIn, arg_name="body")
    @blueprint.output(TransformOut)
    @blueprint.doc(summary="Apply a filtered transformation", description="One change "
                   "(set_rate, add_rate, multiply_rate, set_billing, set_status) to every "
                   "row the filter selects, in one statement. Refused (422) when a result "
                   "would be negative or too large.", responses=refusals)
    def transform(ctx: ApiContext, card_id: int, revision_id: int,
                  body: dict[str, Any]) -> dict[str, Any]:
        count = draft_transform.apply_transform(ctx.db, ctx.actor, card(ctx, card_id),
                                            revision_id, _given(body.get("filter")),
                                            _given(body["change"]))
        return {"count": count}


for _kind, _load in KINDS.items():
    _add_routes(bp, _kind, _load)
