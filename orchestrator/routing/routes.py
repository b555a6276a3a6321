"""Ingress routes of a customer: list, get, create, update, delete.

A route says which calls of a customer are accepted (tech prefix, dial string), on
which tariff (a customer card in the customer's currency), with which limits and
protections. Rules enforced here, beyond the type of each field:

- every dial string line is a digit prefix or a regular expression that compiles;
- lock_cards and exclude_cards are not both non-empty; every id is a provider card;
- the tariff exists and its currency is the customer's;
- no two *enabled* routes of one customer share tech prefix AND priority (the switch
  could not tell which one wins: 409). Disabled routes may; enabling one is checked.

Every change checks ``actor.require("write")`` and is recorded in the audit log in the
caller's transaction; the caller commits. Importing this module registers delete
guards: a customer card used as a tariff, and a provider card in a route's lock or
exclude list, cannot be deleted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.customers.models import Customer
from orchestrator.customers.service import load_customer
from orchestrator.customers.validation import BadValue, Errors, boolean, choice, integer, text
from orchestrator.errors import Conflict, NotFound
from orchestrator.ratecards import customer_cards, provider_cards
from orchestrator.ratecards.models import CustomerCard, ProviderCard
from orchestrator.routing.models import (
    ROUTE_STRATEGIES,
    RTP_PROXY_MODES,
    SIP_PING,
    IngressRoute,
)

OBJECT_TYPE = "ingress_route"
FIELDS = ("name", "tariff_id", "tech_prefix", "dial_string", "enabled", "priority",
          "channels", "cps", "max_duration", "sip_ping", "rtp_timeout", "profit_assurance",
          "lock_cards", "exclude_cards", "strategy", "rtp_proxy", "rtp_proxy_mode")
DEFAULTS: dict[str, Any] = {
    "name": "", "tech_prefix": "", "dial_string": "", "enabled": True, "priority": 0,
    "channels": 0, "cps": 0, "max_duration": 0, "sip_ping": "disabled",
    "rtp_timeout": False, "profit_assurance": False, "lock_cards": [], "exclude_cards": [],
    "strategy": None, "rtp_proxy": "auto", "rtp_proxy_mode": "relaxed"}
TECH_PREFIX_MAX = 20
DIAL_LINES_MAX = 1000
DIAL_LINE_MAX = 200
PRIORITY_MAX = 1_000_000
MAX_DURATION_MAX = 7 * 24 * 3600  # a week: far above any real call
CARDS_MAX = 1000
ID_MAX = 2**63 - 1
# A media zone name: what rtpengine sets are called (letters, digits, `_`, `-`).
_ZONE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,49}$")
_DIGITS = re.compile(r"^[0-9]+$")


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def to_dict(route: IngressRoute) -> dict[str, Any]:
    view: dict[str, Any] = {"id": route.id, "customer_id": route.customer_id}
    view.update({field: getattr(route, field) for field in FIELDS})
    view["lock_cards"] = list(route.lock_cards or [])
    view["exclude_cards"] = list(route.exclude_cards or [])
    view["created_at"] = iso(route.created_at)
    view["updated_at"] = iso(route.updated_at)
    return view


def _audit_view(route: IngressRoute) -> dict[str, Any]:
    view = to_dict(route)
    del view["created_at"], view["updated_at"]
    return view


def describe(route: IngressRoute) -> str:
    label = f"route {route.id}" + (f" ({route.name})" if route.name else "")
    prefix = f"tech prefix {route.tech_prefix}" if route.tech_prefix else "no tech prefix"
    return f"{label}, {prefix}, priority {route.priority}"


# --- parsing -----------------------------------------------------------------------

def dial_string_lines(value: Any) -> str:
    """The stored dial string (lines joined by newline, blank lines dropped).

    Accepts one string with newlines or a list of strings. Each line is a digit prefix
    (``44``) or a regular expression (``^1(204|226)``) that Python ``re`` compiles.
    Raises BadValue naming the (1-based) line of the first bad one.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        items = value.splitlines()
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = [line for v in value for line in (v.splitlines() or [""])]
    else:
        raise BadValue("must be text (one entry a line) or a list of lines")
    kept: list[str] = []
    for number, raw in enumerate(items, start=1):
        line = raw.strip()
        if not line:
            continue
        if len(line) > DIAL_LINE_MAX:
            raise BadValue(f"line {number}: must be at most {DIAL_LINE_MAX} characters")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in line):
            raise BadValue(f"line {number}: must not contain control characters")
        if not _DIGITS.match(line):
            try:
                re.compile(line)
            except re.error as exc:
                raise BadValue(f"line {number}: {line!r} is neither a digit prefix nor a "
                               f"valid regular expression ({exc})") from None
        kept.append(line)
    if len(kept) > DIAL_LINES_MAX:
        raise BadValue(f"must have at most {DIAL_LINES_MAX} lines (got {len(kept)})")
    return "\n".join(kept)


def dial_string_allows(dial_string: str, number: str) -> bool:
    """True when the dial string allows the (tech-prefix-stripped) number: empty allows
    all; a digit line matches numbers starting with it; a regex matches from the start."""
    lines = [line for line in dial_string.splitlines() if line]
    if not lines:
        return True
    return any(number.startswith(line) if _DIGITS.match(line) else
               re.match(line, number) is not None for line in lines)


def tech_prefix(value: Any) -> str:
    prefix: str = text(TECH_PREFIX_MAX)(value)
    if prefix and not (prefix.isascii() and prefix.isdigit()):
        raise BadValue("must be digits only (0-9), or empty for none")
    return prefix


def card_ids(value: Any) -> list[int]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [v for v in re.split(r"[\s,]+", value) if v]
    if not isinstance(value, list):
        raise BadValue("must be a list of provider card ids")
    ids: list[int] = []
    for item in value:
        try:
            card_id = integer(1, ID_MAX)(item)
        except BadValue:
            raise BadValue(f"{item!r} is not a provider card id (a positive whole "
                           "number)") from None
        if card_id not in ids:
            ids.append(card_id)
    if len(ids) > CARDS_MAX:
        raise BadValue(f"must list at most {CARDS_MAX} cards")
    return ids


def strategy(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value.strip() in ("", "card")):
        return None
    return str(choice(ROUTE_STRATEGIES)(value))


def rtp_proxy(value: Any) -> str:
    if not isinstance(value, str):
        raise BadValue("must be auto, direct or a media zone name")
    given: str = value.strip()
    if given.lower() in ("auto", "direct"):
        return given.lower()
    if not _ZONE.match(given):
        raise BadValue("must be auto, direct or a media zone name (letters, digits, _ "
                       "and -, at most 50)")
    return given


PARSERS: dict[str, Callable[[Any], Any]] = {
    "name": text(100),
    "tariff_id": integer(1, ID_MAX),
    "tech_prefix": tech_prefix,
    "dial_string": dial_string_lines,
    "enabled": boolean,
    "priority": integer(0, PRIORITY_MAX),
    "channels": integer(),
    "cps": integer(),
    "max_duration": integer(0, MAX_DURATION_MAX),
    "sip_ping": choice(SIP_PING),
    "rtp_timeout": boolean,
    "profit_assurance": boolean,
    "lock_cards": card_ids,
    "exclude_cards": card_ids,
    "strategy": strategy,
    "rtp_proxy": rtp_proxy,
    "rtp_proxy_mode": choice(RTP_PROXY_MODES),
}


def clean_route(data: Mapping[str, Any], *, create: bool = False) -> dict[str, Any]:
    """Normalised values of the given fields, or ValidationFailed naming every bad one."""
    errors = Errors()
    values: dict[str, Any] = {}
    for field in data:
        if field not in PARSERS:
            errors.add(str(field), "unknown field")
    if create and data.get("tariff_id") is None:
        errors.add("tariff_id", "is required")
    for field, parse in PARSERS.items():
        if field not in data or (field == "tariff_id" and data[field] is None):
            continue
        try:
            values[field] = parse(data[field])
        except BadValue as exc:
            errors.add(field, str(exc))
    errors.check()
    return values


# --- checks against the database ----------------------------------------------------

def _check_references(session: Session, customer: Customer, merged: dict[str, Any]) -> None:
    """Tariff (exists, customer card, same currency), provider cards, lock vs exclude,
    rtp_timeout vs direct media; every problem at once."""
    errors = Errors()
    card = session.get(CustomerCard, merged["tariff_id"])
    if card is None:
        errors.add("tariff_id", f"no customer rate card with id {merged['tariff_id']}")
    elif card.currency != customer.currency:
        errors.add("tariff_id", f"customer card {card.name!r} is in {card.currency} but "
                   f"customer {customer.name!r} pays in {customer.currency}: pick a "
                   f"{customer.currency} card")
    if merged["lock_cards"] and merged["exclude_cards"]:
        message = "lock_cards and exclude_cards cannot both be set: lock (only these) " \
                  "or exclude (all but these)"
        errors.add("lock_cards", message)
        errors.add("exclude_cards", message)
    for field in ("lock_cards", "exclude_cards"):
        ids = merged[field]
        if ids:
            found = set(session.scalars(select(ProviderCard.id).where(
                ProviderCard.id.in_(ids))))
            missing = [i for i in ids if i not in found]
            if missing:
                errors.add(field, "no provider card with id " +
                           ", ".join(str(i) for i in missing))
    if merged["rtp_timeout"] and merged["rtp_proxy"] == "direct":
        errors.add("rtp_timeout", "needs proxied media: rtp_proxy is direct")
    errors.check()


def _check_unique(session: Session, customer_id: int, merged: dict[str, Any],
                  except_id: int | None = None) -> None:
    """No two enabled routes of a customer with the same tech prefix and priority."""
    if not merged["enabled"]:
        return
    stmt = select(IngressRoute).where(
        IngressRoute.customer_id == customer_id, IngressRoute.enabled.is_(True),
        IngressRoute.tech_prefix == merged["tech_prefix"],
        IngressRoute.priority == merged["priority"])
    if except_id is not None:
        stmt = stmt.where(IngressRoute.id != except_id)
    other = session.scalar(stmt.limit(1))
    if other is not None:
        prefix = f"tech prefix {merged['tech_prefix']!r}" if merged["tech_prefix"] \
            else "no tech prefix"
        raise Conflict("priority", f"enabled {describe(other)} has the same {prefix} and "
                       f"priority {merged['priority']}: which one wins would be ambiguous; "
                       "change the priority or the tech prefix, or disable one")


# --- service -----------------------------------------------------------------------

def list_routes(session: Session, actor: Actor, customer_id: int) -> list[IngressRoute]:
    """The customer's routes in the order the switch tries them among equal tech
    prefixes: priority, then id."""
    actor.require("read")
    load_customer(session, customer_id)
    return list(session.scalars(select(IngressRoute).where(
        IngressRoute.customer_id == customer_id).order_by(IngressRoute.priority,
                                                          IngressRoute.id)))


def find_route(session: Session, actor: Actor, route_id: int) -> IngressRoute:
    """A route by id alone (CLI `routes show ID`)."""
    actor.require("read")
    route = session.get(IngressRoute, route_id) if 0 < route_id <= ID_MAX else None
    if route is None:
        raise NotFound("ingress route", route_id)
    return route


def get_route(session: Session, actor: Actor, customer_id: int,
              route_id: int) -> IngressRoute:
    actor.require("read")
    load_customer(session, customer_id)
    route = session.get(IngressRoute, route_id) if 0 < route_id <= ID_MAX else None
    if route is None or route.customer_id != customer_id:
        raise NotFound("ingress route", route_id)
    return route


def create_route(session: Session, actor: Actor, customer_id: int,
                 data: Mapping[str, Any]) -> IngressRoute:
    """Add a route; ``tariff_id`` is required, every other field has a default
    (DEFAULTS)."""
    actor.require("write")
    customer = load_customer(session, customer_id)
    given = {k: v for k, v in data.items() if v is not None or k == "strategy"}
    merged = DEFAULTS | clean_route(given, create=True)
    _check_references(session, customer, merged)
    _check_unique(session, customer.id, merged)
    route = IngressRoute(customer_id=customer.id, **{k: merged[k] for k in FIELDS})
    session.add(route)
    session.flush()
    audit.record(session, actor, "create", OBJECT_TYPE, route.id,
                 f"customer {customer.name}: ingress {describe(route)} created",
                 after=_audit_view(route))
    return route


def update_route(session: Session, actor: Actor, customer_id: int, route_id: int,
                 data: Mapping[str, Any]) -> IngressRoute:
    """Change the given fields only. ``None`` keeps a value, except for ``strategy``
    where None (or "") means "the customer card's strategy"."""
    actor.require("write")
    customer = load_customer(session, customer_id)
    route = get_route(session, actor, customer_id, route_id)
    values = clean_route({k: v for k, v in data.items() if v is not None or k == "strategy"})
    before = _audit_view(route)
    merged = {field: before[field] for field in FIELDS} | values
    _check_references(session, customer, merged)
    _check_unique(session, customer.id, merged, except_id=route.id)
    for field, value in values.items():
        setattr(route, field, value)
    session.flush()
    audit.record(session, actor, "update", OBJECT_TYPE, route.id,
                 f"customer {customer.name}: ingress {describe(route)} updated",
                 before=before, after=_audit_view(route))
    return route


def delete_route(session: Session, actor: Actor, customer_id: int, route_id: int) -> None:
    actor.require("write")
    customer = load_customer(session, customer_id)
    route = get_route(session, actor, customer_id, route_id)
    before = _audit_view(route)
    summary = f"customer {customer.name}: ingress {describe(route)} deleted"
    session.delete(route)
    session.flush()
    audit.record(session, actor, "delete", OBJECT_TYPE, route_id, summary, before=before)


# --- delete guards -----------------------------------------------------------------

def _shown(labels: list[str]) -> str:
    return ", ".join(labels[:3]) + (" ..." if len(labels) > 3 else "")


def customer_card_guard(session: Session, card: CustomerCard) -> str | None:
    """A customer card that is the tariff of a route stays."""
    rows = session.execute(select(IngressRoute.id, Customer.name).join(
        Customer, Customer.id == IngressRoute.customer_id).where(
        IngressRoute.tariff_id == card.id).order_by(IngressRoute.id).limit(4)).all()
    if not rows:
        return None
    return "it is the tariff of ingress route(s) " + _shown(
        [f"{rid} of customer {name!r}" for rid, name in rows])


def provider_card_guard(session: Session, card: ProviderCard) -> str | None:
    """A provider card named in a route's lock or exclude list stays."""
    using = [route for route in session.scalars(select(IngressRoute).order_by(
        IngressRoute.id)) if card.id in (route.lock_cards or []) or
        card.id in (route.exclude_cards or [])]
    if not using:
        return None
    return "it is in the lock or exclude list of ingress route(s) " + _shown(
        [str(route.id) for route in using])


customer_cards.register_delete_guard(customer_card_guard)
provider_cards.register_delete_guard(provider_card_guard)
