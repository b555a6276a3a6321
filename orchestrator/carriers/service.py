"""Carrier service: the one place the REST API, web admin and CLI create, read,
change and delete carriers. Every change checks ``actor.require("write")`` and is
recorded in the audit log in the caller's transaction; the caller commits.

Gateways: ``orchestrator.carriers.gateways``; payments and balance:
``orchestrator.carriers.payments``; CSV import: ``orchestrator.carriers.importer``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orchestrator import secrets
from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.carriers.models import Carrier, CarrierPayment, Gateway
from orchestrator.carriers.schemas import (
    CarrierCreate,
    CarrierUpdate,
    GatewayCreate,
    clean_carrier,
    clean_gateway,
)
from orchestrator.db.types import STATUSES
from orchestrator.errors import Conflict, NotFound, ValidationFailed
from orchestrator.header_policy import names_of
from orchestrator.listing import ListQuery, Page, paginate

# Fields copied as they are between the cleaned input and the model.
_PLAIN_FIELDS = ("name", "status", "currency", "channels", "cps", "paypal_email", "website",
                 "portal_url", "portal_username", "portal_access", "address_lines", "city",
                 "postcode", "country", "pre_ring_timeout", "post_ring_timeout",
                 "pass_headers", "trust_pai")

SEARCH_FIELDS = (Carrier.name, Carrier.website, Carrier.portal_url, Carrier.city)
# Names sort case-insensitively (as people read them); paginate takes any column expression.
SORTABLE = {"id": Carrier.id, "name": cast(Any, func.lower(Carrier.name)),
            "status": Carrier.status,
            "currency": Carrier.currency, "created_at": Carrier.created_at}

# Checks run before a carrier is deleted: each returns why the carrier is in use (for
# example "provider rate card 'X' uses it") or None. Rate cards register theirs.
DeleteGuard = Callable[[Session, Carrier], str | None]
DELETE_GUARDS: list[DeleteGuard] = []


def register_delete_guard(guard: DeleteGuard) -> None:
    if guard not in DELETE_GUARDS:
        DELETE_GUARDS.append(guard)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def format_money(value: Decimal) -> str:
    """Decimal string with at least 2 places and no trailing zeros beyond them."""
    text = format(value.normalize(), "f")
    whole, _, places = text.partition(".")
    return f"{whole}.{places.ljust(2, '0')}"


def gateway_to_dict(gateway: Gateway) -> dict[str, Any]:
    return {"id": gateway.id, "carrier_id": gateway.carrier_id, "host": gateway.host,
            "port": gateway.port, "transport": gateway.transport, "weight": gateway.weight,
            "enabled": gateway.enabled}


def payment_to_dict(payment: CarrierPayment) -> dict[str, Any]:
    return {"id": payment.id, "carrier_id": payment.carrier_id,
            "amount": format_money(payment.amount), "fee": format_money(payment.fee),
            "description": payment.description, "status": payment.status,
            "created_at": _iso(payment.created_at)}


def to_dict(carrier: Carrier, *, children: bool = False) -> dict[str, Any]:
    """JSON-ready view (money as decimal strings, times as ISO 8601 UTC).

    Never contains the portal password nor its encrypted form: only
    ``portal_password_set``. ``children`` adds the gateways and payments.
    """
    view: dict[str, Any] = {"id": carrier.id}
    view.update({field: getattr(carrier, field) for field in _PLAIN_FIELDS})
    view["pass_headers"] = list(names_of(carrier.pass_headers))
    view["portal_password_set"] = bool(carrier.portal_password_encrypted)
    view["created_at"] = _iso(carrier.created_at)
    view["updated_at"] = _iso(carrier.updated_at)
    if children:
        view["gateways"] = [gateway_to_dict(g) for g in carrier.gateways]
        view["payments"] = [payment_to_dict(p) for p in carrier.payments]
    return view


def _audit_view(carrier: Carrier) -> dict[str, Any]:
    view = to_dict(carrier)
    del view["updated_at"]
    return view


def _name_taken(session: Session, name: str, except_id: int | None = None) -> bool:
    stmt = select(Carrier.id).where(func.lower(Carrier.name) == name.lower())
    if except_id is not None:
        stmt = stmt.where(Carrier.id != except_id)
    return session.scalar(stmt.limit(1)) is not None


def _flush(session: Session, name: str) -> None:
    """Flush; a unique violation from a concurrent writer becomes a Conflict."""
    try:
        session.flush()
    except IntegrityError as exc:  # the caller's transaction must now be rolled back
        raise Conflict("name", f"a carrier named {name!r} already exists") from exc


def valid_id(value: object) -> bool:
    """An id the database can hold (huge numbers from a URL must be a 404, not a crash)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def get_carrier(session: Session, actor: Actor, carrier_id: int) -> Carrier:
    actor.require("read")
    carrier = session.get(Carrier, carrier_id) if valid_id(carrier_id) else None
    if carrier is None:
        raise NotFound("carrier", carrier_id)
    return carrier


def find_carrier(session: Session, actor: Actor, ref: str) -> Carrier:
    """By id (all digits) or by name, case-insensitively (for the CLI)."""
    actor.require("read")
    if ref.strip().isdigit():
        return get_carrier(session, actor, int(ref))
    carrier = session.scalar(select(Carrier).where(func.lower(Carrier.name)
                                                   == ref.strip().lower()))
    if carrier is None:
        raise NotFound("carrier", repr(ref))
    return carrier


def list_carriers(session: Session, actor: Actor, query: ListQuery,
                  *, status: str | None = None) -> Page[Carrier]:
    """``q`` searches name, website, portal_url and city; sort by SORTABLE keys."""
    actor.require("read")
    stmt = select(Carrier)
    if status and status not in STATUSES:
        raise ValidationFailed.one("status", f"must be one of: {', '.join(STATUSES)}")
    if status:
        stmt = stmt.where(Carrier.status == status)
    return paginate(session, stmt, query, search=SEARCH_FIELDS, sortable=SORTABLE,
                    default_sort="name", search_text=Carrier.search_text)


GATEWAY_DEFAULTS: dict[str, Any] = {"port": 5060, "transport": "udp", "weight": 1,
                                    "enabled": True}


def clean_gateways(gateways: Sequence[GatewayCreate | Mapping[str, Any]],
                   field: str = "gateways") -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """Cleaned gateways (defaults filled) and the errors keyed ``gateways[i].host``..."""
    cleaned: list[dict[str, Any]] = []
    errors: dict[str, list[str]] = {}
    for index, gateway in enumerate(gateways):
        try:
            cleaned.append(GATEWAY_DEFAULTS | clean_gateway(
                GatewayCreate.of(gateway).given(), f"{field}[{index}].", create=True))
        except ValidationFailed as exc:
            errors.update(exc.errors)
    return cleaned, errors


def duplicate_gateway(gateways: Sequence[dict[str, Any]]) -> tuple[int, int] | None:
    """Indexes (first, second) of two gateways with the same host:port:transport."""
    seen: dict[tuple[Any, ...], int] = {}
    for index, gw in enumerate(gateways):
        key = (gw["host"], gw["port"], gw["transport"])
        if key in seen:
            return seen[key], index
        seen[key] = index
    return None


def create_carrier(session: Session, actor: Actor, data: CarrierCreate | Mapping[str, Any],
                   gateways: Sequence[GatewayCreate | Mapping[str, Any]] = ()) -> Carrier:
    """Create a carrier, optionally with its first gateways, validated all together."""
    actor.require("write")
    errors: dict[str, list[str]] = {}
    try:
        values = clean_carrier(CarrierCreate.of(data).given(), create=True)
    except ValidationFailed as exc:
        values, errors = {}, dict(exc.errors)
    gateway_values, gateway_errors = clean_gateways(gateways)
    errors.update(gateway_errors)
    if errors:
        raise ValidationFailed(errors)
    if _name_taken(session, values["name"]):
        raise Conflict("name", f"a carrier named {values['name']!r} already exists")
    duplicate = duplicate_gateway(gateway_values)
    if duplicate is not None:
        raise Conflict(f"gateways[{duplicate[1]}].host",
                       f"same host, port and transport as gateways[{duplicate[0]}]")
    return insert_carrier(session, actor, values, gateway_values)


def insert_carrier(session: Session, actor: Actor, values: dict[str, Any],
                   gateways: Sequence[dict[str, Any]] = ()) -> Carrier:
    """Insert already cleaned values (create_carrier and the importer validate first)."""
    carrier = Carrier(**{k: values[k] for k in _PLAIN_FIELDS if k in values})
    carrier.portal_password_encrypted = secrets.encrypt(values.get("portal_password", ""))
    carrier.gateways = [Gateway(**gw) for gw in gateways]
    session.add(carrier)
    _flush(session, values["name"])
    after = _audit_view(carrier)
    if gateways:
        after["gateways"] = [gateway_to_dict(g) for g in carrier.gateways]
    audit.record(session, actor, "create", "carrier", carrier.id,
                 f"carrier {carrier.name} created", after=after)
    return carrier


def update_carrier(session: Session, actor: Actor, carrier_id: int,
                   data: CarrierUpdate | Mapping[str, Any]) -> Carrier:
    """Change the given fields only (None = keep; portal_password "" clears it)."""
    actor.require("write")
    carrier = get_carrier(session, actor, carrier_id)
    data = CarrierUpdate.of(data)
    try:
        values = clean_carrier(data.given())
        errors: dict[str, list[str]] = {}
    except ValidationFailed as exc:
        values, errors = {}, dict(exc.errors)
    currency = data.currency.strip().upper() if isinstance(data.currency, str) else None
    if currency is not None and currency != carrier.currency:
        errors["currency"] = [f"is fixed once the carrier exists (it is {carrier.currency})"]
    if errors:
        raise ValidationFailed(errors)
    if "name" in values and _name_taken(session, values["name"], carrier.id):
        raise Conflict("name", f"a carrier named {values['name']!r} already exists")
    before = _audit_view(carrier)
    for field in _PLAIN_FIELDS:
        if field in values:
            setattr(carrier, field, values[field])
    password_changed = False
    if "portal_password" in values:
        new = secrets.encrypt(values["portal_password"])
        password_changed = bool(new or carrier.portal_password_encrypted)
        carrier.portal_password_encrypted = new
    _flush(session, carrier.name)
    after = _audit_view(carrier)
    if password_changed:  # the masked value alone would not show the change
        before["portal_password_changed"], after["portal_password_changed"] = False, True
    audit.record(session, actor, "update", "carrier", carrier.id,
                 f"carrier {carrier.name} updated", before=before, after=after)
    return carrier


def delete_carrier(session: Session, actor: Actor, carrier_id: int) -> None:
    """Delete with its gateways and payments; refused (Conflict) while in use."""
    actor.require("write")
    carrier = get_carrier(session, actor, carrier_id)
    for guard in DELETE_GUARDS:
        reason = guard(session, carrier)
        if reason:
            raise Conflict("id", f"carrier {carrier.name!r} is in use: {reason}")
    before = _audit_view(carrier) | {
        "gateways": [gateway_to_dict(g) for g in carrier.gateways],
        "payments": [payment_to_dict(p) for p in carrier.payments]}
    session.delete(carrier)
    session.flush()
    audit.record(session, actor, "delete", "carrier", carrier_id,
                 f"carrier {carrier.name} deleted", before=before)


def reveal_portal_password(session: Session, actor: Actor, carrier_id: int) -> str:
    """The clear portal password, for an operator logging in to the carrier's portal.

    Needs the write permission and leaves an audit entry. Not part of the carrier
    view; raises orchestrator.secrets.SecretKeyError when the key cannot decrypt it.
    """
    actor.require("write")
    carrier = get_carrier(session, actor, carrier_id)
    password = secrets.decrypt(carrier.portal_password_encrypted)
    audit.record(session, actor, "reveal", "carrier", carrier.id,
                 f"portal password of carrier {carrier.name} revealed")
    return password
