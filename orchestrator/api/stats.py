"""/api/v1/stats: traffic figures over a period, grouped (orchestrator/billing/stats.py)."""

from __future__ import annotations

from typing import Any

from apiflask import Schema, fields
from apiflask.validators import Length, Range

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import resource_blueprint
from orchestrator.api.carriers import schema_class
from orchestrator.billing import stats
from webui.state import web_state

bp = resource_blueprint("api_stats", "Statistics")

TIME_DOC = ("ISO 8601 date or date-time, UTC unless it has an offset "
            "(2026-01-05, 2026-01-05T12:00:00Z)")
MONEY = {"type": "string", "format": "decimal"}


class StatsArgs(Schema):
    from_ = fields.String(data_key="from", validate=Length(max=40), metadata={
        "description": f"start_at from (inclusive); default: `to` - 24 h. {TIME_DOC}"})
    to = fields.String(validate=Length(max=40), metadata={
        "description": f"start_at before (exclusive); default: now. {TIME_DOC}"})
    group_by = fields.String(validate=Length(max=20), metadata={
        "description": "customer (default), carrier, destination (sell prefix), hour or "
                       "day (UTC buckets, empty ones included; at most 2000)",
        "enum": list(stats.GROUPS)})
    customer_id = fields.Integer(validate=Range(min=1, max=2**63 - 1))
    carrier_id = fields.Integer(validate=Range(min=1, max=2**63 - 1))


def _row_fields() -> dict[str, fields.Field[Any]]:
    return {
        "key": fields.String(required=True, metadata={
            "description": "customer/carrier id, sell prefix, or bucket start (UTC); "
                           "empty: none (refused before identification, not rated)"}),
        "label": fields.String(required=True),
        "attempts": fields.Integer(required=True),
        "answered": fields.Integer(required=True),
        "asr": fields.Float(required=True, metadata={"description": "answered / attempts, "
                                                     "percent"}),
        "acd": fields.Float(required=True, metadata={"description": "mean answered "
                                                     "duration, seconds"}),
        "pdd": fields.Float(required=True, metadata={"description": "mean post-dial delay, "
                                                     "seconds"}),
        "minutes": fields.Float(required=True, metadata={"description": "answered "
                                                         "duration, minutes"}),
        "revenue": fields.String(required=True, metadata={**MONEY, "description":
                                 "sell charges, base currency"}),
        "cost": fields.String(required=True, metadata={**MONEY, "description":
                              "buy charges, base currency"}),
        "profit": fields.String(required=True, metadata={**MONEY, "description":
                                "revenue - cost"}),
        "unrated": fields.Integer(required=True, metadata={
            "description": "answered attempts not rated yet (no charges counted)"}),
    }


StatsRowOut = schema_class("StatsRowOut", _row_fields())
StatsTotalOut = schema_class("StatsTotalOut", _row_fields())
UnconvertedOut = schema_class("UnconvertedOut", {
    "revenue": fields.String(required=True, metadata=MONEY),
    "cost": fields.String(required=True, metadata=MONEY)})
StatsOut = schema_class("StatsOut", {
    "from": fields.String(required=True),
    "to": fields.String(required=True),
    "group_by": fields.String(required=True),
    "currency": fields.String(required=True, metadata={
        "description": "the base currency every amount is converted into"}),
    "rows": fields.List(fields.Nested(StatsRowOut), required=True),
    "total": fields.Nested(StatsTotalOut, required=True),
    "unconverted": fields.Dict(keys=fields.String(), values=fields.Nested(UnconvertedOut),
                               required=True, metadata={
                                   "description": "sums in currencies without an exchange "
                                   "rate: left out of revenue, cost and profit"}),
})


@bp.get("/stats")
@api_auth("read")
@bp.input(StatsArgs, location="query", arg_name="args")
@bp.output(StatsOut)
@bp.doc(summary="Traffic statistics", description="Attempts, answered, ASR, ACD, PDD, "
        "minutes, revenue, cost and profit per group over a period (default: the last "
        "24 hours). Money is converted into the base currency at today's exchange "
        "rates. Customer/carrier/destination rows come most attempts first; hour/day "
        "rows in time order.")
def get_stats(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    raw = dict(args)
    raw["from"] = raw.pop("from_", None)
    query = stats.parse_query(raw)
    result = stats.statistics(ctx.db, ctx.actor, query, web_state().settings.base_currency)
    return result.as_dict()
