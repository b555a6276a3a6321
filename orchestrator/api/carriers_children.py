"""/api/v1/carriers/{id}/gateways and /payments, on the carrier service.

These lists are short (a carrier's own rows), so q, sort and the page window are
applied here to what the service returns.
"""

from __future__ import annotations

from typing import Any

from apiflask import Schema, fields
from apiflask.validators import OneOf

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import resource_blueprint
from orchestrator.api.carriers import (
    GatewayCreateIn,
    GatewayOut,
    GatewayPatchIn,
    money_in,
    money_out,
)
from orchestrator.api.fields import UtcDateTime
from orchestrator.api.listing import ListArgs, page_list, page_of
from orchestrator.carriers import gateways, payments
from orchestrator.carriers.models import CarrierPayment, Gateway
from orchestrator.db.types import PAYMENT_STATUSES

bp = resource_blueprint("api_carrier_children", "Carriers")
# The lists come last: a schema used alone must be registered before its page.





class PaymentOut(Schema):
    id = fields.Integer(required=True)
    carrier_id = fields.Integer(required=True)
    amount: fields.Field[Any] = money_out(lambda p: p.amount, "positive: paid to the carrier; "
                                     "negative: paid back by it")
    fee: fields.Field[Any] = money_out(lambda p: p.fee, "what the transfer cost the operator")
    description = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(PAYMENT_STATUSES)})
    created_at = UtcDateTime(required=True)


class PaymentCreateIn(Schema):
    amount = money_in(required=True, metadata={"description": "not zero, at most 6 places"})
    fee = money_in(metadata={"description": "0 or more, default 0"})
    # Checked by the service, together with the amounts (every bad field at once).
    description = fields.String(metadata={"description": "up to 255 characters"})
    status = fields.String(metadata={"description": "pending (default), completed or "
                                     "cancelled"})


class PaymentPatchIn(Schema):
    status = fields.String(required=True, validate=OneOf(PAYMENT_STATUSES),
                           metadata={"description": "pending -> completed | cancelled; "
                                     "completed -> pending | cancelled; cancelled is final"})


class PaymentListArgs(ListArgs):
    status = fields.String(validate=OneOf(PAYMENT_STATUSES))


CARRIER_404: dict[int, str] = {404: "No such carrier"}


@bp.post("/carriers/<int:carrier_id>/gateways")
@api_auth("write")
@bp.input(GatewayCreateIn, arg_name="body")
@bp.output(GatewayOut, status_code=201)
@bp.doc(summary="Add a gateway to a carrier", responses={
    **CARRIER_404, 409: "The carrier has a gateway with this host, port and transport"})
def add_gateway(ctx: ApiContext, carrier_id: int, body: dict[str, Any]) -> Gateway:
    return gateways.add_gateway(ctx.db, ctx.actor, carrier_id, body)


@bp.patch("/carriers/<int:carrier_id>/gateways/<int:gateway_id>")
@api_auth("write")
@bp.input(GatewayPatchIn, arg_name="body")
@bp.output(GatewayOut)
@bp.doc(summary="Change a gateway", responses={
    404: "No such carrier or gateway",
    409: "The carrier has a gateway with this host, port and transport"})
def update_gateway(ctx: ApiContext, carrier_id: int, gateway_id: int,
                   body: dict[str, Any]) -> Gateway:
    return gateways.update_gateway(ctx.db, ctx.actor, carrier_id, gateway_id, body)


@bp.delete("/carriers/<int:carrier_id>/gateways/<int:gateway_id>")
@api_auth("write")
@bp.output({}, status_code=204)
@bp.doc(summary="Remove a gateway", responses={404: "No such carrier or gateway"})
def delete_gateway(ctx: ApiContext, carrier_id: int, gateway_id: int) -> tuple[str, int]:
    gateways.delete_gateway(ctx.db, ctx.actor, carrier_id, gateway_id)
    return "", 204


@bp.get("/carriers/<int:carrier_id>/gateways")
@api_auth("read")
@bp.input(ListArgs, location="query", arg_name="args")
@bp.output(page_of(GatewayOut))
@bp.doc(summary="List a carrier's gateways", description="`q` searches the host; sort by "
        "id, host, port, transport, weight, enabled.", responses=CARRIER_404)
def list_gateways(ctx: ApiContext, carrier_id: int, args: dict[str, Any]) -> dict[str, Any]:
    rows = gateways.list_gateways(ctx.db, ctx.actor, carrier_id)
    return page_list(rows, args, ("host",), ("id", "host", "port", "transport", "weight",
                                            "enabled"))


@bp.post("/carriers/<int:carrier_id>/payments")
@api_auth("write")
@bp.input(PaymentCreateIn, arg_name="body")
@bp.output(PaymentOut, status_code=201)
@bp.doc(summary="Record a payment to or from a carrier", responses=CARRIER_404)
def add_payment(ctx: ApiContext, carrier_id: int, body: dict[str, Any]) -> CarrierPayment:
    return payments.add_payment(ctx.db, ctx.actor, carrier_id, body)


@bp.patch("/carriers/<int:carrier_id>/payments/<int:payment_id>")
@api_auth("write")
@bp.input(PaymentPatchIn, arg_name="body")
@bp.output(PaymentOut)
@bp.doc(summary="Change a payment's status", responses={404: "No such carrier or payment"})
def update_payment(ctx: ApiContext, carrier_id: int, payment_id: int,
                   body: dict[str, Any]) -> CarrierPayment:
    return payments.set_payment_status(ctx.db, ctx.actor, carrier_id, payment_id,
                                       body["status"])


@bp.get("/carriers/<int:carrier_id>/payments")
@api_auth("read")
@bp.input(PaymentListArgs, location="query", arg_name="args")
@bp.output(page_of(PaymentOut))
@bp.doc(summary="List a carrier's payments", description="Newest first; `q` searches "
        "description and status; sort by id, amount, fee, status, created_at; filter by "
        "`status`.", responses=CARRIER_404)
def list_payments(ctx: ApiContext, carrier_id: int, args: dict[str, Any]) -> dict[str, Any]:
    rows = payments.list_payments(ctx.db, ctx.actor, carrier_id)
    if args.get("status"):
        rows = [p for p in rows if p.status == args["status"]]
    return page_list(rows, args, ("description", "status"),
                     ("id", "amount", "fee", "status", "created_at"), default_sort="-created_at")

