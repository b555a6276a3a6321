"""Customer service functions: the one layer the REST API, web admin and CLI call.

Every function takes the SQLAlchemy session of the caller, who owns the transaction
(commit or roll back); changes are flushed, never committed here. Functions that
change something take an ``Actor``, check its role and record an audit entry with the
values before and after. Bad input raises ``ValidationFailed`` before anything is
changed; see orchestrator/errors.py for the other errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypedDict

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.billing.changes import balance_changed
from orchestrator.customers.models import Customer
from orchestrator.customers.validation import CUSTOMER_FIELDS, clean_customer
from orchestrator.db.types import STATUSES
from orchestrator.errors import Conflict, NotFound, ValidationFailed
from orchestrator.header_policy import names_of
from orchestrator.listing import ListQuery, Page, paginate

OBJECT_TYPE = "customer"
SEARCH_FIELDS = ("name", "email", "website", "city")
SORTABLE_FIELDS = ("id", "name", "status", "currency", "created_at")


class CustomerInput(TypedDict, total=False):
    """Fields accepted by create_customer / update_customer (PRODUCT.md §1 names).

    Values may also be strings (forms, CSV, CLI): they are parsed. Money and percent
    are Decimal (or decimal strings), never float in storage.
    """

    name: str
    status: str
    currency: str
    tax_percent: Decimal | str
    debit_limit: Decimal | str
    channels: int
    cps: int
    paypal_email: str
    website: str
    portal_access: bool
    address_lines: list[str] | str
    city: str
    postcode: str
    country: str
    email: str
    mobile: str
    email_verified: bool
    mobile_verified: bool
    verification_required: bool
    pass_headers: list[str] | str
    pai: str
    low_balance_threshold: Decimal | str | None


def decimal_str(value: Decimal) -> str:
    """Plain decimal text without exponent or trailing zeros: 12.5, 100, -0.25."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC (SQLite hands back naive datetimes: they are UTC)."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def customer_to_dict(customer: Customer) -> dict[str, Any]:
    """JSON-safe view of a customer (money as decimal strings, times as ISO 8601)."""
    return {
        "id": customer.id,
        "name": customer.name,
        "status": customer.status,
        "currency": customer.currency,
        "tax_percent": decimal_str(customer.tax_percent),
        "debit_limit": decimal_str(customer.debit_limit),
        "channels": customer.channels,
        "cps": customer.cps,
        "paypal_email": customer.paypal_email,
        "website": customer.website,
        "portal_access": customer.portal_access,
        "address_lines": customer.address_lines.splitlines() if customer.address_lines else [],
        "city": customer.city,
        "postcode": customer.postcode,
        "country": customer.country,
        "email": customer.email,
        "mobile": customer.mobile,
        "email_verified": customer.email_verified,
        "mobile_verified": customer.mobile_verified,
        "verification_required": customer.verification_required,
        "pass_headers": list(names_of(customer.pass_headers)),
        "pai": customer.pai,
        "low_balance_threshold": (None if customer.low_balance_threshold is None
                                  else decimal_str(customer.low_balance_threshold)),
        "created_at": iso(customer.created_at),
        "updated_at": iso(customer.updated_at),
    }


def audit_view(customer: Customer) -> dict[str, Any]:
    """What the audit log keeps of a customer (no timestamps)."""
    view = customer_to_dict(customer)
    del view["created_at"], view["updated_at"]
    return view


def find_by_name(session: Session, name: str) -> Customer | None:
    """The customer whose name equals ``name`` ignoring case, else None."""
    return session.scalar(
        select(Customer).where(func.lower(Customer.name) == name.strip().lower()))


def _check_name_free(session: Session, name: str, own_id: int | None = None) -> None:
    other = find_by_name(session, name)
    if other is not None and other.id != own_id:
        raise Conflict("name", f"a customer named {other.name!r} already exists "
                       f"(id {other.id}); names are unique ignoring case")


def _flush(session: Session, name: str) -> None:
    """Flush; a unique violation from a concurrent writer becomes a Conflict."""
    try:
        session.flush()
    except IntegrityError as exc:  # the caller's transaction must now be rolled back
        raise Conflict("name", f"a customer named {name!r} already exists") from exc


def get_customer(session: Session, actor: Actor, customer_id: int) -> Customer:
    actor.require("read")
    return load_customer(session, customer_id)


def load_customer(session: Session, customer_id: int) -> Customer:
    """The customer with this id (no role check: for other service modules)."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("customer", customer_id)
    return customer


def new_customer(values: Mapping[str, Any]) -> Customer:
    """An unsaved Customer from cleaned values (see validation.clean_customer)."""
    customer = Customer(**values)
    for field in ("tax_percent", "debit_limit"):
        if getattr(customer, field) is None:
            setattr(customer, field, Decimal(0))
    return customer


def create_customer(session: Session, actor: Actor, data: Mapping[str, Any]) -> Customer:
    """Create a customer; ``data`` needs at least name and currency."""
    actor.require("write")
    values = clean_customer(data)
    _check_name_free(session, values["name"])
    customer = new_customer(values)
    session.add(customer)
    _flush(session, customer.name)
    audit.record(session, actor, "create", OBJECT_TYPE, customer.id,
                 f"customer {customer.name} created", after=audit_view(customer))
    return customer


def update_customer(session: Session, actor: Actor, customer_id: int,
                    data: Mapping[str, Any]) -> Customer:
    """Change the given fields only. Currency is fixed once the customer exists.

    Changing the email (or mobile) clears email_verified (mobile_verified) unless the
    same request sets it.
    """
    actor.require("write")
    customer = load_customer(session, customer_id)
    values = clean_customer(data, partial=True)
    if "currency" in values and values["currency"] != customer.currency:
        raise ValidationFailed.one(
            "currency", f"cannot change after creation (it is {customer.currency}): "
            "create a new customer for another currency")
    if "name" in values:
        _check_name_free(session, values["name"], customer.id)
    before = audit_view(customer)
    if values.get("email", customer.email) != customer.email:
        values.setdefault("email_verified", False)
    if values.get("mobile", customer.mobile) != customer.mobile:
        values.setdefault("mobile_verified", False)
    for field, value in values.items():
        setattr(customer, field, value)
    _flush(session, customer.name)
    after = audit_view(customer)
    if after != before:
        audit.record(session, actor, "update", OBJECT_TYPE, customer.id,
                     f"customer {customer.name} updated", before=before, after=after)
    if any(before[f] != after[f] for f in ("debit_limit", "low_balance_threshold")):
        balance_changed(session, [customer.id])  # alert now, credit push after commit
    return customer


def usage(session: Session, customer: Customer) -> list[str]:
    """What refers to this customer and forbids deleting it.

    TODO(ingress routes issue): list the customer's ingress routes and CDRs here; a
    customer with routes must not be deleted. Nothing refers to customers yet.
    """
    return []


def delete_customer(session: Session, actor: Actor, customer_id: int) -> None:
    """Delete a customer with its IP auth entries, SIP users and payments."""
    actor.require("write")
    customer = load_customer(session, customer_id)
    in_use = usage(session, customer)
    if in_use:
        raise Conflict("id", f"customer {customer.name} is in use by {', '.join(in_use)}")
    before = audit_view(customer)
    before.update(ips=len(customer.ips), sip_users=len(customer.sip_users),
                  payments=len(customer.payments))
    session.delete(customer)
    session.flush()
    audit.record(session, actor, "delete", OBJECT_TYPE, customer_id,
                 f"customer {before['name']} deleted", before=before)


def _sortable() -> dict[str, Any]:
    """Names sort case-insensitively (as people read them), like carriers."""
    return {f: getattr(Customer, f) for f in SORTABLE_FIELDS} | {
        "name": func.lower(Customer.name)}


def list_customers(session: Session, actor: Actor, query: ListQuery,
                   *, status: str | None = None) -> Page[Customer]:
    """q searches name, email, website and city; sort by SORTABLE_FIELDS ("-name")."""
    actor.require("read")
    stmt = select(Customer)
    if status is not None:
        if status not in STATUSES:
            raise ValidationFailed.one("status", f"must be one of: {', '.join(STATUSES)}")
        stmt = stmt.where(Customer.status == status)
    return paginate(session, stmt, query,
                    search=[getattr(Customer, f) for f in SEARCH_FIELDS],
                    sortable=_sortable(),
                    default_sort="name", search_text=Customer.search_text)


__all__ = [
    "CUSTOMER_FIELDS", "CustomerInput", "audit_view", "create_customer", "customer_to_dict",
    "decimal_str", "delete_customer", "find_by_name", "get_customer", "iso", "list_customers",
    "load_customer", "update_customer",
]
