"""/api/v1/currencies: exchange rates against the base currency (settings.base_currency).

``per_base`` is how many units of the currency one unit of the base currency buys,
a decimal string. The base currency itself is always 1 and never stored.
"""

from __future__ import annotations

from typing import Any

from apiflask import Schema, fields

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import resource_blueprint
from orchestrator.api.fields import Money, UtcDateTime
from orchestrator.api.provider_cards import base_currency
from orchestrator.errors import ValidationFailed
from orchestrator.ratecards import exchange
from orchestrator.ratecards.models import ExchangeRate

bp = resource_blueprint("api_currencies", "Currencies")
MAX_UPLOAD = 1 << 20


class CurrencyOut(Schema):
    currency = fields.String(required=True)
    per_base = fields.String(required=True, metadata={
        "type": "string", "format": "decimal", "example": "0.92",
        "description": "units of this currency per 1 of the base currency"})
    updated_at = UtcDateTime(required=True)


class CurrencyItemOut(CurrencyOut):
    """A rate inside the list (a class both nested and used alone is added twice)."""


class CurrencyList(Schema):
    base_currency = fields.String(required=True)
    items = fields.List(fields.Nested(CurrencyItemOut), required=True)
    total = fields.Integer(required=True)


class CurrencyIn(Schema):
    per_base = Money(required=True, metadata={"description": "> 0, at most 12 decimals"})


class CurrencyImportIn(Schema):
    file = fields.File(required=True, metadata={  # type: ignore[no-untyped-call]
        "description": "CSV lines `currency,per_base`; a header row is optional"})


def _listing(ctx: ApiContext, rows: list[ExchangeRate]) -> dict[str, Any]:
    return {"base_currency": base_currency(), "items": rows, "total": len(rows)}


@bp.put("/currencies/<string:code>")
@api_auth("write")
@bp.input(CurrencyIn, arg_name="body")
@bp.output(CurrencyOut)
@bp.doc(summary="Set an exchange rate", description="Creates or replaces the rate of "
        "`code` (ISO 4217).")
def set_currency(ctx: ApiContext, code: str, body: dict[str, Any]) -> ExchangeRate:
    return exchange.set_rate(ctx.db, ctx.actor, code, body["per_base"], base_currency())


@bp.delete("/currencies/<string:code>")
@api_auth("write")
@bp.output({}, status_code=204)
@bp.doc(summary="Remove an exchange rate", responses={
    404: "No rate for this currency", 409: "A customer card converts with it"})
def delete_currency(ctx: ApiContext, code: str) -> tuple[str, int]:
    exchange.delete_rate(ctx.db, ctx.actor, code)
    return "", 204


@bp.post("/currencies/import")
@api_auth("write")
@bp.input(CurrencyImportIn, location="files", arg_name="body")
@bp.output(CurrencyList)
@bp.doc(summary="Import exchange rates from CSV", description="All or nothing: any bad "
        "row refuses the file, each named as `row N, column X`. Answers every rate.")
def import_currencies(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    upload = body["file"]
    data = upload.stream.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise ValidationFailed.one("file", f"must be at most {MAX_UPLOAD} bytes")
    exchange.import_csv(ctx.db, ctx.actor, data, base_currency())
    return _listing(ctx, exchange.list_rates(ctx.db, ctx.actor))


@bp.get("/currencies")
@api_auth("read")
@bp.output(CurrencyList)
@bp.doc(summary="List exchange rates", description="Every stored rate, by code; the base "
        "currency (always 1) is `base_currency`.")
def list_currencies(ctx: ApiContext) -> dict[str, Any]:
    return _listing(ctx, exchange.list_rates(ctx.db, ctx.actor))

