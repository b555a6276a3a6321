"""/api/v1/cdrs: search CDRs (keyset pages), one CDR, and the streamed CSV export.

Filters are text checked by the service (orchestrator/billing/search.py), so the API,
the web page and the CLI refuse the same input with the same messages (422, one
entry per bad field: ``from``, ``to``, ``cursor``, ``result``, ...).
"""

from __future__ import annotations

from typing import Any

from apiflask import Schema, fields
from apiflask.validators import Length, Range
from flask import Response, stream_with_context
from sqlalchemy import BigInteger, DateTime, Integer

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import resource_blueprint
from orchestrator.api.carriers import schema_class
from orchestrator.api.fields import UtcDateTime
from orchestrator.billing import cdr_export, search
from orchestrator.billing.models import Cdr
from orchestrator.ratecards.money import format_units

bp = resource_blueprint("api_cdrs", "CDRs")

TIME_DOC = ("ISO 8601 date or date-time, UTC unless it has an offset "
            "(2026-01-05, 2026-01-05T12:00:00Z)")


class CdrFilterArgs(Schema):
    from_ = fields.String(data_key="from", validate=Length(max=40), metadata={
        "description": f"start_at from (inclusive); default: `to` - 24 h. {TIME_DOC}"})
    to = fields.String(validate=Length(max=40), metadata={
        "description": f"start_at before (exclusive); default: now. {TIME_DOC}"})
    customer_id = fields.Integer(validate=Range(min=1, max=2**63 - 1))
    carrier_id = fields.Integer(validate=Range(min=1, max=2**63 - 1),
                                metadata={"description": "the carrier that answered or "
                                          "was tried last"})
    dialled = fields.String(validate=Length(max=64), metadata={
        "description": "start of the number as received (e.g. `44`)"})
    caller = fields.String(validate=Length(max=64), metadata={
        "description": "start of the caller number"})
    result = fields.String(validate=Length(max=20), metadata={
        "description": "`answered`, `failed` (any other code) or a SIP code (`486`)"})
    call_id = fields.String(validate=Length(max=64), metadata={"description": "exact "
                                                                "Call-ID"})


class CdrSearchArgs(CdrFilterArgs):
    cursor = fields.String(validate=Length(max=200), metadata={
        "description": "`next_cursor` (older) or `prev_cursor` (newer) of an earlier "
                       "answer with the same filters; leave out for the newest page"})
    limit = fields.Integer(load_default=search.DEFAULT_LIMIT,
                           validate=Range(min=1, max=search.MAX_LIMIT))


def _cdr_fields() -> dict[str, fields.Field[Any]]:
    """Every column of ``cdrs``; money as decimal strings in the row's currency."""
    out: dict[str, fields.Field[Any]] = {}
    for column in Cdr.__table__.columns:
        opts: dict[str, Any] = {"required": True, "allow_none": bool(column.nullable)}
        if column.key in cdr_export.MONEY_COLUMNS:
            out[column.key] = fields.Function(
                lambda obj, key=column.key: _money(obj[key]), **opts,
                metadata={"type": "string", "format": "decimal",
                          "description": "units of the row's currency"})
        elif isinstance(column.type, DateTime):
            out[column.key] = UtcDateTime(**opts)
        elif isinstance(column.type, Integer | BigInteger):
            out[column.key] = fields.Integer(**opts)
        else:
            out[column.key] = fields.String(**opts)
    out["customer_name"] = fields.String(required=True, allow_none=True)
    out["carrier_name"] = fields.String(required=True, allow_none=True)
    out["dtmf_events"] = fields.Integer(required=True, metadata={
        "description": "DTMF events rtpengine reported for the call (by Call-ID)"})
    return out


def _money(value: Any) -> str | None:
    return None if value is None else format_units(int(value))


CdrOut = schema_class("CdrOut", _cdr_fields())
CdrItemOut = schema_class("CdrItemOut", _cdr_fields())  # nested copy, see page schema
CdrPageOut = schema_class("CdrPageOut", {
    "items": fields.List(fields.Nested(CdrItemOut), required=True),
    "next_cursor": fields.String(required=True, allow_none=True, metadata={
        "description": "older rows: pass as `cursor`; null on the last page"}),
    "prev_cursor": fields.String(required=True, allow_none=True, metadata={
        "description": "newer rows: pass as `cursor`; null on the newest page"}),
    "limit": fields.Integer(required=True),
})


EXPORT_RESPONSES: dict[int | str, dict[str, str | dict[str, dict[str, Any]]]] = {
    200: {"description": "the CSV file", "content": {"text/csv": {}}}}


def filter_of(args: dict[str, Any]) -> search.CdrFilter:
    raw = dict(args)
    raw["from"] = raw.pop("from_", None)
    return search.parse_filter(raw)


@bp.get("/cdrs")
@api_auth("read")
@bp.input(CdrSearchArgs, location="query", arg_name="args")
@bp.output(CdrPageOut)
@bp.doc(summary="Search CDRs", description="Newest first (start_at, then id). Pages "
        "are keyset pages: follow `next_cursor` / `prev_cursor`; the filters must stay "
        "the same. The period defaults to the last 24 hours.")
def search_cdrs(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    page = search.search(ctx.db, ctx.actor, filter_of(args), cursor=args.get("cursor"),
                         limit=args["limit"])
    return {"items": [row.as_dict() for row in page.items],
            "next_cursor": page.next_cursor, "prev_cursor": page.prev_cursor,
            "limit": page.limit}


@bp.get("/cdrs/<int:cdr_id>")
@api_auth("read")
@bp.output(CdrOut)
@bp.doc(summary="Get a CDR", responses={404: "No such CDR"})
def get_cdr(ctx: ApiContext, cdr_id: int) -> dict[str, Any]:
    return search.get_cdr(ctx.db, ctx.actor, cdr_id).as_dict()


@bp.get("/cdrs/export")
@api_auth("read")
@bp.input(CdrFilterArgs, location="query", arg_name="args")
@bp.doc(summary="Export CDRs as CSV", description="Every CDR of the filters, oldest "
        "first, streamed (any size): every column of a CDR, then customer_name, "
        "carrier_name, dtmf_events. Money in the row's currency, times in UTC.",
        responses=EXPORT_RESPONSES)
def export_cdrs(ctx: ApiContext, args: dict[str, Any]) -> Response:
    flt = filter_of(args)
    chunks = cdr_export.export_csv(ctx.db, ctx.actor, flt)
    return Response(stream_with_context(chunks), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{cdr_export.export_filename(flt)}"'})
