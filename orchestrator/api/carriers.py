"""/api/v1/carriers: carriers (with their first gateways), on the carrier service.

Gateways and payments of a carrier: ``orchestrator.api.carriers_children``.
The portal password is write-only: accepted on input, only ``portal_password_set``
comes out. A server whose encryption key is unusable answers 503.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, cast

from apiflask import Schema, fields
from apiflask.validators import Length, OneOf
from flask import Response
from marshmallow import ValidationError
from sqlalchemy.orm import object_session

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import resource_blueprint
from orchestrator.api.errors import error_response
from orchestrator.api.fields import Money, UtcDateTime, pass_headers_in, pass_headers_out
from orchestrator.api.listing import ListArgs, envelope, list_query, page_of
from orchestrator.carriers import payments, service
from orchestrator.carriers.models import Carrier
from orchestrator.db.types import STATUSES
from orchestrator.errors import Conflict, ValidationFailed
from orchestrator.secrets import SecretKeyError

bp = resource_blueprint("api_carriers", "Carriers")
# The list comes last: a schema used alone must be registered before its page.

SECRET_KEY_UNUSABLE = 503
MONEY_LIMIT = Decimal(10) ** 14  # the Money column; larger values are refused anyway


@bp.errorhandler(SecretKeyError)
def secret_key_error(error: SecretKeyError) -> Response:
    """A server configuration problem (encryption key), not the client's fault."""
    return error_response(SECRET_KEY_UNUSABLE, "The server cannot encrypt or decrypt the "
                          f"portal password: {error}", None)


def money_string(value: Decimal) -> str:
    return service.format_money(value)


def money_out(getter: Callable[[Any], Decimal], description: str) -> fields.Function:
    return fields.Function(lambda obj: money_string(getter(obj)), required=True,
                           metadata={"type": "string", "format": "decimal",
                                     "example": "100.00", "description": description})


def _money_size(value: Decimal) -> None:
    if abs(value) >= MONEY_LIMIT:
        raise ValidationError("is too large")


def money_in(**kwargs: Any) -> Money:
    return Money(validate=_money_size, **kwargs)


_ROW = re.compile(r"^(\w+)\[(\d+)\]")


def _dotted(field: str) -> str:
    """The service's ``gateways[1].host`` as the API's ``gateways.1.host``."""
    return _ROW.sub(r"\1.\2", field)


@contextmanager
def dotted_fields() -> Iterator[None]:
    """Re-raise service errors with list rows named as the API names them."""
    try:
        yield
    except ValidationFailed as exc:
        raise ValidationFailed({_dotted(k): v for k, v in exc.errors.items()}) from None
    except Conflict as exc:
        raise Conflict(_dotted(exc.field), exc.message) from None


class GatewayOut(Schema):
    id = fields.Integer(required=True)
    carrier_id = fields.Integer(required=True)
    host = fields.String(required=True)
    port = fields.Integer(required=True)
    transport = fields.String(required=True, metadata={"enum": ["udp", "tcp"]})
    weight = fields.Integer(required=True)
    enabled = fields.Boolean(required=True)


def gateway_fields(create: bool) -> dict[str, fields.Field[Any]]:
    """Types only: the service checks the values and names every bad field."""
    opt: dict[str, Any] = {} if create else {"allow_none": True}
    return {
        "host": fields.String(required=create, validate=Length(max=255),
                              metadata={"description": "IP address or DNS name; no scheme, "
                                        "no port"}, **opt),
        "port": fields.Integer(metadata={"description": "1-65535, default 5060"}, **opt),
        "transport": fields.String(validate=Length(max=10),
                                   metadata={"description": "udp (default) or tcp"}, **opt),
        "weight": fields.Integer(metadata={"description": "1-100, default 1"}, **opt),
        "enabled": fields.Boolean(**opt),
    }


def schema_class(name: str, declared: dict[str, fields.Field[Any]]) -> type[Schema]:
    return cast("type[Schema]", type(name, (Schema,), declared))


GatewayCreateIn = schema_class("GatewayCreateIn", gateway_fields(True))
GatewayPatchIn = schema_class("GatewayPatchIn", gateway_fields(False))
# Nested copies: a class both nested and used alone would be added to the spec twice.
NewCarrierGatewayIn = schema_class("NewCarrierGatewayIn", gateway_fields(True))


class CarrierGatewayOut(GatewayOut):
    """A gateway inside a carrier."""


def carrier_fields(create: bool) -> dict[str, fields.Field[Any]]:
    opt: dict[str, Any] = {} if create else {"allow_none": True}

    def text(limit: int, **kwargs: Any) -> fields.String:
        return fields.String(validate=Length(max=limit), **opt, **kwargs)

    def integer(description: str) -> fields.Integer:
        return fields.Integer(metadata={"description": description}, **opt)

    out: dict[str, fields.Field[Any]] = {
        "name": fields.String(required=create, validate=Length(max=200), **opt),
        "status": text(40, metadata={"description": ", ".join(STATUSES)}),
        "currency": fields.String(required=create, validate=Length(max=10), **opt,
                                  metadata={"description": "ISO 4217; fixed after creation"}),
        "channels": integer("0 = unlimited"),
        "cps": integer("calls per second, 0 = unlimited"),
        "paypal_email": text(300),
        "website": text(300),
        "portal_url": text(300),
        "portal_username": text(200),
        "portal_password": fields.String(load_only=True, validate=Length(max=255), **opt,
                                         metadata={"description": "write-only; \"\" clears"}),
        "portal_access": fields.Boolean(**opt),
        "address_lines": text(1000),
        "city": text(200),
        "postcode": text(40),
        "country": text(10, metadata={"description": "ISO 3166-1 alpha-2"}),
        "pre_ring_timeout": integer("seconds, 1-300"),
        "post_ring_timeout": integer("seconds, 1-300"),
        "pass_headers": pass_headers_in(**opt),
        "trust_pai": fields.Boolean(**opt, metadata={
            "description": "receives the P-Asserted-Identity of callers asking for "
                           "privacy (Privacy: id); default true"}),
    }
    if create:
        out["gateways"] = fields.List(fields.Nested(NewCarrierGatewayIn), validate=Length(max=100),
                                      metadata={"description": "the carrier's first gateways"})
    return out


CarrierCreateIn = schema_class("CarrierCreateIn", carrier_fields(True))
CarrierPatchIn = schema_class("CarrierPatchIn", carrier_fields(False))


LISTED_BALANCE = "_listed_balance"  # set on each carrier of a list page, in one query


def _balance(carrier: Carrier) -> Decimal:
    listed: Decimal | None = getattr(carrier, LISTED_BALANCE, None)
    if listed is not None:
        return listed
    session = object_session(carrier)
    assert session is not None  # a carrier the service just loaded or stored
    return payments.balance(session, carrier.id)


class CarrierOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(STATUSES)})
    currency = fields.String(required=True)
    channels = fields.Integer(required=True)
    cps = fields.Integer(required=True)
    paypal_email = fields.String(required=True)
    website = fields.String(required=True)
    portal_url = fields.String(required=True)
    portal_username = fields.String(required=True)
    portal_password_set = fields.Function(
        lambda c: bool(c.portal_password_encrypted), required=True,
        metadata={"type": "boolean", "description": "a portal password is stored"})
    portal_access = fields.Boolean(required=True)
    address_lines = fields.String(required=True)
    city = fields.String(required=True)
    postcode = fields.String(required=True)
    country = fields.String(required=True)
    pre_ring_timeout = fields.Integer(required=True)
    post_ring_timeout = fields.Integer(required=True)
    pass_headers = pass_headers_out()
    trust_pai = fields.Boolean(required=True)
    balance = money_out(lambda c: _balance(c),
                        "sum of the completed payments, in the carrier's currency")
    created_at = UtcDateTime(required=True)
    updated_at = UtcDateTime(allow_none=True)


class CarrierDetailOut(CarrierOut):
    gateways = fields.List(fields.Nested(CarrierGatewayOut), required=True)


class CarrierListArgs(ListArgs):
    status = fields.String(validate=OneOf(STATUSES))


@bp.post("/carriers")
@api_auth("write")
@bp.input(CarrierCreateIn, arg_name="body")
@bp.output(CarrierDetailOut, status_code=201)
@bp.doc(summary="Create a carrier", description="Optionally with its first `gateways`.",
        responses={409: "The name exists, or two gateways are the same",
                   503: "The server's encryption key is unusable"})
def create_carrier(ctx: ApiContext, body: dict[str, Any]) -> Carrier:
    gateways = body.pop("gateways", [])
    with dotted_fields():
        return service.create_carrier(ctx.db, ctx.actor, body, gateways)


@bp.get("/carriers/<int:carrier_id>")
@api_auth("read")
@bp.output(CarrierDetailOut)
@bp.doc(summary="Get a carrier")
def get_carrier(ctx: ApiContext, carrier_id: int) -> Carrier:
    return service.get_carrier(ctx.db, ctx.actor, carrier_id)


@bp.patch("/carriers/<int:carrier_id>")
@api_auth("write")
@bp.input(CarrierPatchIn, arg_name="body")
@bp.output(CarrierDetailOut)
@bp.doc(summary="Change a carrier", description="Only the fields given change; `null` "
        "keeps a value. `currency` cannot change.",
        responses={409: "The name exists", 503: "The server's encryption key is unusable"})
def update_carrier(ctx: ApiContext, carrier_id: int, body: dict[str, Any]) -> Carrier:
    return service.update_carrier(ctx.db, ctx.actor, carrier_id, body)


@bp.delete("/carriers/<int:carrier_id>")
@api_auth("write")
@bp.output({}, status_code=204)
@bp.doc(summary="Delete a carrier", description="With its gateways and payments.",
        responses={409: "The carrier is in use"})
def delete_carrier(ctx: ApiContext, carrier_id: int) -> tuple[str, int]:
    service.delete_carrier(ctx.db, ctx.actor, carrier_id)
    return "", 204


@bp.get("/carriers")
@api_auth("read")
@bp.input(CarrierListArgs, location="query", arg_name="args")
@bp.output(page_of(CarrierOut))
@bp.doc(summary="List carriers", description="`q` searches name, website, portal_url and "
        "city; sort by id, name, status, currency, created_at; filter by `status`.")
def list_carriers(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    page = service.list_carriers(ctx.db, ctx.actor, list_query(args),
                                 status=args.get("status"))
    owed = payments.balances(ctx.db, [c.id for c in page.items])
    for carrier in page.items:
        setattr(carrier, LISTED_BALANCE, owed[carrier.id])
    return envelope(page)
