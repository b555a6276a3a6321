"""/api/v1/customers/{id}/ips, /sip-users and /payments, on the customer service.

IP auth entries and SIP users are short lists (a customer's own rows): q, sort and the
page window are applied here to what the service returns. Payments are paginated by
the service. A SIP user's password is write-only: no answer ever carries it (nor HA1).
"""

from __future__ import annotations

from typing import Any

from apiflask import Schema, fields
from apiflask.validators import Length

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import resource_blueprint
from orchestrator.api.carriers import money_out, schema_class
from orchestrator.api.carriers_children import PaymentCreateIn, PaymentListArgs, PaymentPatchIn
from orchestrator.api.customers import given, lines_in, lines_out
from orchestrator.api.fields import UtcDateTime
from orchestrator.api.listing import ListArgs, envelope, list_query, page_list, page_of
from orchestrator.customers import ips, payments, sip_users
from orchestrator.customers.models import CustomerIP, CustomerPayment, SipUser
from orchestrator.db.types import PAYMENT_STATUSES

bp = resource_blueprint("api_customer_children", "Customers")
# The lists come last: a schema used alone must be registered before its page.





# --- schemas -----------------------------------------------------------------------

class CustomerIpOut(Schema):
    id = fields.Integer(required=True)
    customer_id = fields.Integer(required=True)
    network = fields.String(required=True, metadata={
        "description": "normalised CIDR network, e.g. 192.0.2.7/32"})
    port = fields.Integer(required=True, allow_none=True,
                          metadata={"description": "null = any source port"})
    created_at = UtcDateTime(required=True)


class CustomerIpIn(Schema):
    network = fields.String(required=True, validate=Length(max=100), metadata={
        "description": "IPv4/IPv6 address or CIDR network (no host bits), e.g. 192.0.2.7, "
                       "198.51.100.0/24, 2001:db8::/32"})
    port = fields.Integer(allow_none=True, metadata={"description": "1-65535; leave out or "
                                                     "null for any port"})


class SipUserOut(Schema):
    id = fields.Integer(required=True)
    customer_id = fields.Integer(required=True)
    username = fields.String(required=True)
    realm = fields.String(required=True, metadata={"description": "the digest realm the "
                                                   "stored hash was computed for"})
    channels = fields.Integer(required=True)
    cps = fields.Integer(required=True)
    allowed_ips = lines_out(lambda u: u.allowed_ips, "source networks allowed to register "
                            "or call; empty = any")
    created_at = UtcDateTime(required=True)


def sip_user_fields(create: bool) -> dict[str, fields.Field[Any]]:
    """Types only: the service checks the values and names every bad field."""
    opt: dict[str, Any] = {} if create else {"allow_none": True}
    return {
        "username": fields.String(required=create, validate=Length(max=200), **opt,
                                  metadata={"description": "3-64 letters, digits, `.`, `_`, "
                                            "`-`; unique across the switch, ignoring case"}),
        "password": fields.String(required=create, load_only=True, validate=Length(max=1000),
                                  **opt, metadata={
                                      "description": "write-only, 8-128 characters, not the "
                                      "username; required again when the username changes"}),
        "channels": fields.Integer(metadata={"description": "0 = unlimited"}, **opt),
        "cps": fields.Integer(metadata={"description": "calls per second, 0 = unlimited"},
                              **opt),
        "allowed_ips": lines_in("IP addresses or CIDR networks (list, or one string "
                                "separated by commas, spaces or newlines)", **opt),
    }


SipUserCreateIn = schema_class("SipUserCreateIn", sip_user_fields(True))
SipUserPatchIn = schema_class("SipUserPatchIn", sip_user_fields(False))


class CustomerPaymentOut(Schema):
    id = fields.Integer(required=True)
    customer_id = fields.Integer(required=True)
    amount: fields.Field[Any] = money_out(lambda p: p.amount, "positive: paid by the "
                                          "customer; negative: refund or correction")
    fee: fields.Field[Any] = money_out(lambda p: p.fee, "what the payment provider kept "
                                       "(information only)")
    description = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(PAYMENT_STATUSES)})
    created_at = UtcDateTime(required=True)


CUSTOMER_404: dict[int, str] = {404: "No such customer"}


# --- IP auth entries ---------------------------------------------------------------

@bp.post("/customers/<int:customer_id>/ips")
@api_auth("write")
@bp.input(CustomerIpIn, arg_name="body")
@bp.output(CustomerIpOut, status_code=201)
@bp.doc(summary="Add an IP auth entry to a customer", responses={
    **CUSTOMER_404, 409: "The entry overlaps one of the customer's entries"})
def add_ip(ctx: ApiContext, customer_id: int, body: dict[str, Any]) -> CustomerIP:
    return ips.add_ip(ctx.db, ctx.actor, customer_id, body)


@bp.delete("/customers/<int:customer_id>/ips/<int:ip_id>")
@api_auth("write")
@bp.output({}, status_code=204)
@bp.doc(summary="Remove an IP auth entry", responses={404: "No such customer or entry"})
def delete_ip(ctx: ApiContext, customer_id: int, ip_id: int) -> tuple[str, int]:
    ips.delete_ip(ctx.db, ctx.actor, customer_id, ip_id)
    return "", 204


@bp.get("/customers/<int:customer_id>/ips")
@api_auth("read")
@bp.input(ListArgs, location="query", arg_name="args")
@bp.output(page_of(CustomerIpOut))
@bp.doc(summary="List a customer's IP auth entries", description="`q` searches the "
        "network; sort by id, network, port, created_at.", responses=CUSTOMER_404)
def list_ips(ctx: ApiContext, customer_id: int, args: dict[str, Any]) -> dict[str, Any]:
    rows = ips.list_ips(ctx.db, ctx.actor, customer_id)
    return page_list(rows, args, ("network",), ("id", "network", "port", "created_at"))


# --- SIP users ---------------------------------------------------------------------

@bp.post("/customers/<int:customer_id>/sip-users")
@api_auth("write")
@bp.input(SipUserCreateIn, arg_name="body")
@bp.output(SipUserOut, status_code=201)
@bp.doc(summary="Add a SIP user to a customer", responses={
    **CUSTOMER_404, 409: "The username is taken (on any customer)"})
def add_sip_user(ctx: ApiContext, customer_id: int, body: dict[str, Any]) -> SipUser:
    return sip_users.add_sip_user(ctx.db, ctx.actor, customer_id, body)


@bp.patch("/customers/<int:customer_id>/sip-users/<int:sip_user_id>")
@api_auth("write")
@bp.input(SipUserPatchIn, arg_name="body")
@bp.output(SipUserOut)
@bp.doc(summary="Change a SIP user", description="Only the fields given change; `null` "
        "keeps a value. A new username needs a new password.", responses={
            404: "No such customer or SIP user", 409: "The username is taken"})
def update_sip_user(ctx: ApiContext, customer_id: int, sip_user_id: int,
                    body: dict[str, Any]) -> SipUser:
    return sip_users.update_sip_user(ctx.db, ctx.actor, customer_id, sip_user_id,
                                     given(body))


@bp.delete("/customers/<int:customer_id>/sip-users/<int:sip_user_id>")
@api_auth("write")
@bp.output({}, status_code=204)
@bp.doc(summary="Remove a SIP user", responses={404: "No such customer or SIP user"})
def delete_sip_user(ctx: ApiContext, customer_id: int, sip_user_id: int) -> tuple[str, int]:
    sip_users.delete_sip_user(ctx.db, ctx.actor, customer_id, sip_user_id)
    return "", 204


@bp.get("/customers/<int:customer_id>/sip-users")
@api_auth("read")
@bp.input(ListArgs, location="query", arg_name="args")
@bp.output(page_of(SipUserOut))
@bp.doc(summary="List a customer's SIP users", description="`q` searches the username; "
        "sort by id, username, channels, cps, created_at.", responses=CUSTOMER_404)
def list_sip_users(ctx: ApiContext, customer_id: int, args: dict[str, Any]) -> dict[str, Any]:
    rows = sip_users.list_sip_users(ctx.db, ctx.actor, customer_id)
    return page_list(rows, args, ("username",),
                     ("id", "username", "channels", "cps", "created_at"))


# --- payments ----------------------------------------------------------------------

@bp.post("/customers/<int:customer_id>/payments")
@api_auth("write")
@bp.input(PaymentCreateIn, arg_name="body")
@bp.output(CustomerPaymentOut, status_code=201)
@bp.doc(summary="Record a payment by or to a customer", description="The amount is in the "
        "customer's currency; only completed payments count toward the balance.",
        responses=CUSTOMER_404)
def add_payment(ctx: ApiContext, customer_id: int, body: dict[str, Any]) -> CustomerPayment:
    return payments.add_payment(ctx.db, ctx.actor, customer_id, body)


@bp.patch("/customers/<int:customer_id>/payments/<int:payment_id>")
@api_auth("write")
@bp.input(PaymentPatchIn, arg_name="body")
@bp.output(CustomerPaymentOut)
@bp.doc(summary="Change a customer payment's status",
        responses={404: "No such customer or payment"})
def update_payment(ctx: ApiContext, customer_id: int, payment_id: int,
                   body: dict[str, Any]) -> CustomerPayment:
    return payments.set_payment_status(ctx.db, ctx.actor, customer_id, payment_id,
                                       body["status"])


@bp.get("/customers/<int:customer_id>/payments")
@api_auth("read")
@bp.input(PaymentListArgs, location="query", arg_name="args")
@bp.output(page_of(CustomerPaymentOut))
@bp.doc(summary="List a customer's payments", description="Newest first; `q` searches the "
        "description; sort by id, amount, fee, status, created_at; filter by `status`.",
        responses=CUSTOMER_404)
def list_payments(ctx: ApiContext, customer_id: int, args: dict[str, Any]) -> dict[str, Any]:
    return envelope(payments.list_payments(ctx.db, ctx.actor, customer_id, list_query(args),
                                           status=args.get("status")))
