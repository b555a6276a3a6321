"""The compiler: the model (ORM) -> a ``Snapshot``, a pure deterministic function.

Same model, same snapshot, same ``version``: every tuple is sorted by ids or keys and
nothing depends on the time or on the order rows come out of the database. The rules
are in docs/design/routing.md and switch-data.md; the decisions taken here:

- Customers: every customer gets a row. ``ok`` when active (and verified where
  verification is required), ``unverified`` when active but not verified,
  ``inactive`` for any other status. credit = balance + debit_limit > 0.
- Routes: only enabled routes. A route whose tariff has no active revision is left
  out with a warning (``Snapshot.warnings``). An unknown media zone is an error.
- Ingress: for every (route group, tech prefix), the compiled route of a customer of
  that group with the lowest priority, then the lowest id (PRODUCT.md §2 step 3,
  ``routes.list_routes``: lower priority first).
- Dial strings: one rule per non-empty line. A route's dial string is tested with
  ``re.match`` (anchored at the start) in the model, but Kamailio's dialplan runs an
  unanchored PCRE search; each rule is therefore anchored: a digit line ``44`` becomes
  ``^44``; a regex that starts with ``^`` and has no top-level ``|`` stays as is; any
  other regex becomes ``^(?:line)`` (``^44|33`` would let ``33`` match anywhere).
- Carriers: active, with at least one enabled gateway; only enabled gateways.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from ipaddress import ip_address

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.carriers.models import Carrier
from orchestrator.compile.groups import IpEntry, groups_of, route_groups
from orchestrator.compile.snapshot import (
    PING_CODES,
    CarrierRow,
    CustomerRow,
    DialRule,
    GatewayRow,
    IngressRow,
    MediaZone,
    ProviderCardRow,
    RouteRow,
    SipUserRow,
    Snapshot,
    TariffRef,
    WeightRow,
)
from orchestrator.compile.tariffs import tariff_ref
from orchestrator.compile.validate import validate_snapshot
from orchestrator.customers.models import Customer, CustomerIP, SipUser
from orchestrator.customers.payments import balances
from orchestrator.errors import ValidationFailed
from orchestrator.ratecards import revisions
from orchestrator.ratecards.models import CustomerCard, CustomerCardParent, ProviderCard
from orchestrator.ratecards.money import SCALE as UNITS_PER_MONEY
from orchestrator.routing.models import IngressRoute
from orchestrator.settings import Settings

_GLOBAL_FLAGS = re.compile(r"^\(\?[a-zA-Z]+\)")


def customer_state(customer: Customer) -> str:
    if customer.status != "active":
        return "inactive"
    if customer.verification_required and not (customer.email_verified
                                               and customer.mobile_verified):
        return "unverified"
    return "ok"


def _top_level_alternation(pattern: str) -> bool:
    """True when ``pattern`` has a ``|`` outside every group and character class."""
    depth, in_class, escaped = 0, False, False
    for ch in pattern:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return True
    return False


def dial_pattern(line: str) -> str:
    """The dialplan PCRE of one dial string line (see the module doc)."""
    if line.isascii() and line.isdigit():
        return "^" + line
    if line.startswith("^") and not _top_level_alternation(line):
        return line
    flags = _GLOBAL_FLAGS.match(line)  # "(?i)..." must stay in front
    head = flags.group(0) if flags else ""
    return f"{head}^(?:{line[len(head):]})"


def dial_rules(route_id: int, dial_string: str) -> tuple[DialRule, ...]:
    lines = [line.strip() for line in dial_string.splitlines() if line.strip()]
    return tuple(DialRule(route_id, n, dial_pattern(line)) for n, line in enumerate(lines, 1))


def gateway_uri(host: str, port: int, transport: str) -> str:
    try:
        if ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass  # a DNS name
    return f"sip:{host}:{port}" + (";transport=tcp" if transport == "tcp" else "")


def _label(route: IngressRoute, customer: Customer) -> str:
    name = f" ({route.name})" if route.name else ""
    return f"route {route.id}{name} of customer {customer.name}"


def _customers(session: Session, customers: Sequence[Customer]) -> tuple[CustomerRow, ...]:
    owed = balances(session, [c.id for c in customers])
    return tuple(CustomerRow(c.id, customer_state(c), c.channels, c.cps,
                             owed[c.id] + c.debit_limit > 0, c.name, c.pass_headers, c.pai,
                             money_key_value(owed[c.id] + c.debit_limit))
                 for c in customers)


def money_key_value(available: Decimal) -> str:
    """The switch's credit-control value of an available credit: x 60 in rate units
    (templates/kamailio/credit.cfg.j2); "" when there is none (no call may start)."""
    if available <= 0:
        return ""
    return str(int(available * UNITS_PER_MONEY * 60))


def _carriers(session: Session) -> tuple[tuple[CarrierRow, ...], tuple[GatewayRow, ...],
                                         tuple[ProviderCardRow, ...]]:
    carriers: list[CarrierRow] = []
    gateways: list[GatewayRow] = []
    for carrier in session.scalars(select(Carrier).where(Carrier.status == "active")
                                   .order_by(Carrier.id)):
        enabled = sorted((g for g in carrier.gateways if g.enabled), key=lambda g: g.id)
        if not enabled:
            continue
        carriers.append(CarrierRow(carrier.id, carrier.channels, carrier.cps,
                                   carrier.pre_ring_timeout * 1000,
                                   carrier.post_ring_timeout * 1000, carrier.name,
                                   carrier.pass_headers, carrier.trust_pai))
        gateways.extend(GatewayRow(g.id, carrier.id, gateway_uri(g.host, g.port, g.transport),
                                   g.weight) for g in enabled)
    ids = [c.id for c in carriers]
    cards = tuple(ProviderCardRow(p.id, p.carrier_id, p.tech_prefix) for p in session.scalars(
        select(ProviderCard).where(ProviderCard.carrier_id.in_(ids)).order_by(ProviderCard.id)))
    return tuple(carriers), tuple(sorted(gateways, key=lambda g: g.id)), cards


def compile_snapshot(session: Session, settings: Settings) -> Snapshot:
    """The snapshot of the current model; raises ValidationFailed (naming the route,
    customer or line) when the model cannot be run by the switch."""
    warnings: list[str] = []
    errors: dict[str, list[str]] = {}
    customers = list(session.scalars(select(Customer).order_by(Customer.id)))
    by_id = {c.id: c for c in customers}
    users = sorted(session.scalars(select(SipUser)), key=lambda u: (u.username, u.id))
    entries = [IpEntry(e.customer_id, e.network, e.port) for e in session.scalars(
        select(CustomerIP).order_by(CustomerIP.id))]
    routing = route_groups(entries, sorted({u.customer_id for u in users}))
    member_of = groups_of(routing.groups)

    sip_users = []
    for user in users:
        if user.realm != settings.sip_realm:
            warnings.append(f"SIP user {user.username} of customer "
                            f"{by_id[user.customer_id].name}: its password was set for realm "
                            f"{user.realm!r}, the switch uses {settings.sip_realm!r}: set a "
                            "new password or it cannot authenticate")
        sip_users.append(SipUserRow(user.username, user.ha1, user.customer_id,
                                    routing.solo[user.customer_id], user.channels, user.cps,
                                    tuple(sorted(filter(None, user.allowed_ips.split("\n"))))))

    zones = settings.media_zone_sets()
    cards: dict[int, CustomerCard] = {}
    refs: dict[int, TariffRef | None] = {}
    routes: list[RouteRow] = []
    rules: list[DialRule] = []
    priority: dict[int, int] = {}
    for route in session.scalars(select(IngressRoute).where(IngressRoute.enabled.is_(True))
                                 .order_by(IngressRoute.id)):
        customer = by_id[route.customer_id]
        card = cards.get(route.tariff_id) or session.get(CustomerCard, route.tariff_id)
        assert card is not None  # foreign key
        cards[card.id] = card
        if card.id not in refs:
            active = revisions.active_revision(session, card)
            refs[card.id] = None
            if active is not None:
                refs[card.id], notes = tariff_ref(session, card, active.id,
                                                  settings.base_currency)
                warnings.extend(notes)
        ref = refs[card.id]
        if ref is None:
            warnings.append(f"{_label(route, customer)}: tariff {card.name!r} has no active "
                            "revision: the route is left out of the switch (its calls take "
                            "another matching route or get 404 No Ingress Route)")
            continue
        if route.rtp_proxy == "direct":
            media = -1
        elif route.rtp_proxy in zones:
            media = zones[route.rtp_proxy]
        else:
            errors.setdefault(_label(route, customer), []).append(
                f"rtp_proxy: media zone {route.rtp_proxy!r} is not configured (zones: "
                f"{', '.join(sorted(zones))}, direct)")
            continue
        lock, exclude = sorted(route.lock_cards or []), sorted(route.exclude_cards or [])
        mine = dial_rules(route.id, route.dial_string)
        rules.extend(mine)
        priority[route.id] = route.priority
        routes.append(RouteRow(
            id=route.id, customer_id=route.customer_id, customer_card_id=card.id,
            tree=ref.tree, tech_prefix=route.tech_prefix, has_dial_string=bool(mine),
            channels=route.channels, cps=route.cps, max_duration=route.max_duration,
            sip_ping=PING_CODES[route.sip_ping], rtp_timeout=route.rtp_timeout,
            profit_assurance=route.profit_assurance,
            cards_mode="lock" if lock else "exclude" if exclude else "",
            cards=tuple(lock or exclude), strategy=route.strategy or card.strategy,
            media_set=media, strict=route.rtp_proxy_mode == "strict", name=route.name))
    if errors:
        raise ValidationFailed(errors)

    winners: dict[tuple[int, str], RouteRow] = {}
    for row in routes:
        for group in member_of.get(row.customer_id, ()):
            key = (group, row.tech_prefix)
            best = winners.get(key)
            if best is None or (priority[row.id], row.id) < (priority[best.id], best.id):
                winners[key] = row
    ingress = tuple(IngressRow(g, tp, r.id) for (g, tp), r in sorted(winners.items()))

    carriers, gateways, provider_cards = _carriers(session)
    weights = tuple(WeightRow(p.customer_card_id, p.provider_card_id, p.weight)
                    for p in session.scalars(select(CustomerCardParent).order_by(
                        CustomerCardParent.customer_card_id,
                        CustomerCardParent.provider_card_id)))
    tariffs = tuple(sorted((r for r in refs.values() if r is not None),
                           key=lambda r: r.customer_card_id))
    snapshot = Snapshot(
        addresses=routing.addresses, groups=routing.groups, sip_users=tuple(sip_users),
        customers=_customers(session, customers), ingress=ingress, routes=tuple(routes),
        dial_rules=tuple(rules), carriers=carriers, gateways=gateways,
        provider_cards=provider_cards, weights=weights, tariffs=tariffs,
        media_zones=tuple(MediaZone(n, i) for n, i in sorted(zones.items(),
                                                             key=lambda z: z[1])),
        realm=settings.sip_realm, warnings=tuple(warnings))
    validate_snapshot(snapshot)
    return snapshot
