"""/api/v1/customers: customers with their balance and credit, on the customer service.

IP auth entries, SIP users and payments of a customer:
``orchestrator.api.customers_children``. Each customer answer carries ``balance`` and
``credit_available`` (decimal strings); a list computes them for its whole page at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from apiflask import Schema, fields
from apiflask.validators import Length, OneOf
from marshmallow import ValidationError

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import resource_blueprint
from orchestrator.api.carriers import money_in, money_out, schema_class
from orchestrator.api.fields import UtcDateTime, pass_headers_in, pass_headers_out
from orchestrator.api.listing import ListArgs, envelope, list_query, page_of
from orchestrator.customers import payments, service
from orchestrator.customers.models import Customer
from orchestrator.db.types import STATUSES
from orchestrator.header_policy import PAI_MODES

bp = resource_blueprint("api_customers", "Customers")
# The list comes last: a schema used alone must be registered before its page.

LINES_DOC = {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]}


class Lines(fields.Field[Any]):
    """Several lines: a list of strings, or one string (split on newlines by the service).

    Answers always carry the list.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) or (isinstance(value, list)
                                      and all(isinstance(v, str) for v in value)):
            return value
        raise ValidationError("must be a list of lines (strings) or one string")


def lines_in(description: str, **kwargs: Any) -> Lines:
    return Lines(metadata={**LINES_DOC, "description": description}, **kwargs)


def lines_out(getter: Any, description: str) -> fields.Function:
    """Stored newline-separated text, answered as a list of strings."""
    return fields.Function(lambda obj: (getter(obj) or "").splitlines(), required=True,
                           metadata={"type": "array", "items": {"type": "string"},
                                     "description": description})


@dataclass(frozen=True)
class CustomerView:
    """A customer with its balance (computed by the view, in one query per page)."""

    customer: Customer
    balance: Decimal

    @property
    def credit_available(self) -> Decimal:
        return self.balance + self.customer.debit_limit

    def __getattr__(self, name: str) -> Any:
        return getattr(self.customer, name)

    def __getitem__(self, name: str) -> Any:
        """marshmallow reads ``obj[key]`` when it can: without this it probes
        ``__getitem__`` through ``__getattr__`` and pays an exception per field."""
        return getattr(self, name)


def with_balances(ctx: ApiContext, customers: list[Customer]) -> list[CustomerView]:
    """Each customer with its balance: ONE balance computation for all of them."""
    owed = payments.balances(ctx.db, [c.id for c in customers])
    return [CustomerView(c, owed[c.id]) for c in customers]


def with_balance(ctx: ApiContext, customer: Customer) -> CustomerView:
    return with_balances(ctx, [customer])[0]


def customer_fields(create: bool) -> dict[str, fields.Field[Any]]:
    """Types only: the customer service checks the values and names every bad field."""
    opt: dict[str, Any] = {} if create else {"allow_none": True}

    def text(limit: int, description: str | None = None) -> fields.String:
        meta = {"description": description} if description else {}
        return fields.String(validate=Length(max=limit), metadata=meta, **opt)

    def integer(description: str) -> fields.Integer:
        return fields.Integer(metadata={"description": description}, **opt)

    def flag(description: str) -> fields.Boolean:
        return fields.Boolean(metadata={"description": description}, **opt)

    return {
        "name": fields.String(required=create, validate=Length(max=200), **opt,
                              metadata={"description": "unique, ignoring case; 1-100 "
                                        "characters"}),
        "status": text(40, ", ".join(STATUSES) + "; default active"),
        "currency": fields.String(required=create, validate=Length(max=10), **opt,
                                  metadata={"description": "ISO 4217; fixed after creation"}),
        "tax_percent": money_in(**opt, metadata={
            "description": "0-100, at most 4 places; added on top of rated charges"}),
        "debit_limit": money_in(**opt, metadata={
            "description": "how far the balance may go below zero; at most 6 places"}),
        "channels": integer("0 = unlimited"),
        "cps": integer("calls per second, 0 = unlimited"),
        "paypal_email": text(300),
        "website": text(300, "http:// or https:// address"),
        "portal_access": flag("may use the customer portal"),
        "address_lines": lines_in("address lines (without city, postcode, country)", **opt),
        "city": text(200),
        "postcode": text(40),
        "country": text(10, "ISO 3166-1 alpha-2"),
        "email": text(300),
        "mobile": text(40, "E.164, e.g. +447400123456"),
        "email_verified": flag("changing `email` clears it unless the same call sets it"),
        "mobile_verified": flag("changing `mobile` clears it unless the same call sets it"),
        "verification_required": flag("calls are refused until email and mobile are "
                                      "verified"),
        "pass_headers": pass_headers_in(**opt),
        "pai": text(20, "P-Asserted-Identity of the customer's calls: accept (default), "
                    "require (403 PAI Required without it) or remove"),
        "low_balance_threshold": fields.String(allow_none=True, validate=Length(max=40),
                                               metadata={"description": (
            "decimal; the customer gets one email when its balance falls below it; "
            "an empty string removes it")}),
    }


CustomerCreateIn = schema_class("CustomerCreateIn", customer_fields(True))
CustomerPatchIn = schema_class("CustomerPatchIn", customer_fields(False))


class CustomerOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(STATUSES)})
    currency = fields.String(required=True)
    tax_percent = fields.Function(lambda c: service.decimal_str(c.tax_percent), required=True,
                                  metadata={"type": "string", "format": "decimal",
                                            "example": "20", "description": "percent"})
    debit_limit = money_out(lambda c: c.debit_limit, "how far the balance may go below zero")
    channels = fields.Integer(required=True)
    cps = fields.Integer(required=True)
    paypal_email = fields.String(required=True)
    website = fields.String(required=True)
    portal_access = fields.Boolean(required=True)
    address_lines = lines_out(lambda c: c.address_lines, "address lines")
    city = fields.String(required=True)
    postcode = fields.String(required=True)
    country = fields.String(required=True)
    email = fields.String(required=True)
    mobile = fields.String(required=True)
    email_verified = fields.Boolean(required=True)
    mobile_verified = fields.Boolean(required=True)
    verification_required = fields.Boolean(required=True)
    pass_headers = pass_headers_out()
    pai = fields.String(required=True, metadata={"enum": list(PAI_MODES)})
    low_balance_threshold = fields.Function(
        lambda c: None if c.low_balance_threshold is None
        else service.decimal_str(c.low_balance_threshold), required=True, allow_none=True,
        metadata={"type": "string", "format": "decimal", "nullable": True,
                  "description": "low-balance email alert threshold; null = none"})
    balance = money_out(lambda c: c.balance, "completed payments minus taxed charges, in the "
                        "customer's currency")
    credit_available = money_out(lambda c: c.credit_available, "balance + debit_limit; a "
                                 "call may start while it is above zero")
    created_at = UtcDateTime(required=True)
    updated_at = UtcDateTime(allow_none=True)


class CustomerListArgs(ListArgs):
    status = fields.String(validate=OneOf(STATUSES))


def given(body: dict[str, Any]) -> dict[str, Any]:
    """The fields of a PATCH body that change something (``null`` keeps a value)."""
    return {k: v for k, v in body.items() if v is not None}


@bp.post("/customers")
@api_auth("write")
@bp.input(CustomerCreateIn, arg_name="body")
@bp.output(CustomerOut, status_code=201)
@bp.doc(summary="Create a customer", responses={409: "The name exists"})
def create_customer(ctx: ApiContext, body: dict[str, Any]) -> CustomerView:
    return with_balance(ctx, service.create_customer(ctx.db, ctx.actor, body))


@bp.get("/customers/<int:customer_id>")
@api_auth("read")
@bp.output(CustomerOut)
@bp.doc(summary="Get a customer", description="With its `balance` and `credit_available`.")
def get_customer(ctx: ApiContext, customer_id: int) -> CustomerView:
    return with_balance(ctx, service.get_customer(ctx.db, ctx.actor, customer_id))


@bp.patch("/customers/<int:customer_id>")
@api_auth("write")
@bp.input(CustomerPatchIn, arg_name="body")
@bp.output(CustomerOut)
@bp.doc(summary="Change a customer", description="Only the fields given change; `null` "
        "keeps a value. `currency` cannot change.", responses={409: "The name exists"})
def update_customer(ctx: ApiContext, customer_id: int, body: dict[str, Any]) -> CustomerView:
    return with_balance(ctx, service.update_customer(ctx.db, ctx.actor, customer_id,
                                                     given(body)))


@bp.delete("/customers/<int:customer_id>")
@api_auth("write")
@bp.output({}, status_code=204)
@bp.doc(summary="Delete a customer", description="With its IP auth entries, SIP users "
        "and payments.", responses={409: "The customer is in use"})
def delete_customer(ctx: ApiContext, customer_id: int) -> tuple[str, int]:
    service.delete_customer(ctx.db, ctx.actor, customer_id)
    return "", 204


@bp.get("/customers")
@api_auth("read")
@bp.input(CustomerListArgs, location="query", arg_name="args")
@bp.output(page_of(CustomerOut))
@bp.doc(summary="List customers", description="`q` searches name, email, website and city; "
        "sort by id, name, status, currency, created_at; filter by `status`. Each item "
        "carries `balance` and `credit_available`.")
def list_customers(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    page = envelope(service.list_customers(ctx.db, ctx.actor, list_query(args),
                                           status=args.get("status")))
    page["items"] = with_balances(ctx, page["items"])
    return page
