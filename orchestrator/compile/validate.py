"""Checks on a compiled Snapshot before it may reach Kamailio (PRODUCT.md §5).

``validate_snapshot`` collects every problem and raises one ValidationFailed whose
keys name the thing at fault (``route 12 (name)``, ``SIP user alice``, ...). It checks
row formats, references between rows and uniqueness of every key the switch uses;
Kamailio's own check of the loaded file (``kamailio -c``) comes on top of it.

Dial rule patterns are run through Python ``re`` (PCRE accepts what Python accepts
for the usual constructs) and refused when they use what PCRE does not have: the
inline flags ``a``, ``L`` and ``u``, or ``\\Z`` (PCRE's ``\\Z`` also matches before a
final newline; Python's is PCRE's ``\\z``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from ipaddress import ip_network

from orchestrator.compile.snapshot import MAX_GROUP, PING_CODES, GroupRow, Snapshot
from orchestrator.errors import ValidationFailed
from orchestrator.header_policy import PAI_MODES, parse_pass_headers
from orchestrator.ratecards.models import STRATEGIES

SAFE_KEY = re.compile(r"^[A-Za-z0-9._@+-]+$")
HA1 = re.compile(r"^[0-9a-fA-F]{32}$")
DIGITS = re.compile(r"^[0-9]*$")
NOT_PCRE = re.compile(r"\(\?[a-zA-Z]*[aLu][a-zA-Z]*[):-]|(?<!\\)(?:\\\\)*\\Z")
CARDS_MODES = ("", "lock", "exclude")


class _Errors:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, where: str, message: str) -> None:
        self.errors.setdefault(where, []).append(message)

    def duplicates(self, where: str, kind: str, keys: Iterable[object]) -> None:
        for key, count in sorted(Counter(keys).items(), key=str):
            if count > 1:
                self.add(where, f"{kind} {key} appears {count} times")


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be a dialplan PCRE, or None."""
    if not pattern:
        return "is empty"
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"{pattern!r} is not a valid regular expression ({exc})"
    if NOT_PCRE.search(pattern):
        return f"{pattern!r} uses a construct PCRE does not have (inline flag a, L or u, " \
               "or \\Z)"
    return None


def _pass_headers(e: _Errors, where: str, text: str) -> None:
    """The switch gets a header list as a regular expression: only canonical lists."""
    try:
        canonical = parse_pass_headers(text)
    except ValueError as exc:
        e.add(where, f"pass_headers: {exc}")
        return
    if canonical != text:
        e.add(where, f"pass_headers {text!r} is not in canonical form ({canonical!r})")


def validate_snapshot(snapshot: Snapshot) -> None:
    """Raise ValidationFailed naming every problem of ``snapshot``."""
    e = _Errors()
    customers = {c.id for c in snapshot.customers}
    e.duplicates("customers", "customer id", (c.id for c in snapshot.customers))
    for customer in snapshot.customers:
        if customer.state not in ("ok", "inactive", "unverified"):
            e.add(f"customer {customer.id} ({customer.name})",
                  f"state {customer.state!r} is not ok, inactive or unverified")
        if customer.pai not in PAI_MODES:
            e.add(f"customer {customer.id} ({customer.name})",
                  f"pai {customer.pai!r} is not one of {', '.join(PAI_MODES)}")
        _pass_headers(e, f"customer {customer.id} ({customer.name})", customer.pass_headers)

    groups = {g.group: g for g in snapshot.groups}
    e.duplicates("groups", "route group", (g.group for g in snapshot.groups))
    for group in snapshot.groups:
        if not 1 <= group.group <= MAX_GROUP:
            e.add(f"group {group.group}", f"id must be within 1..{MAX_GROUP}")
        unknown = [c for c in group.customer_ids if c not in customers]
        if unknown or not group.customer_ids:
            e.add(f"group {group.group}", f"customers {unknown or 'none'} do not exist")
    e.duplicates("addresses", "IP auth network and port",
                 ((a.network, a.port) for a in snapshot.addresses))
    for address in snapshot.addresses:
        where = f"IP auth {address.network} port {address.port or 'any'}"
        try:
            ip_network(address.network)
        except ValueError:
            e.add(where, "is not a network in CIDR notation")
        if not 0 <= address.port <= 65535:
            e.add(where, "port must be 0 (any) to 65535")
        if address.group not in groups:
            e.add(where, f"route group {address.group} does not exist")

    e.duplicates("sip_users", "SIP username", (u.username for u in snapshot.sip_users))
    for user in snapshot.sip_users:
        where = f"SIP user {user.username}"
        if not SAFE_KEY.match(user.username):
            e.add(where, "username may only contain letters, digits and . _ @ + -")
        if not HA1.match(user.ha1):
            e.add(where, "password hash (HA1) must be 32 hex digits")
        if user.customer_id not in customers:
            e.add(where, f"customer {user.customer_id} does not exist")
        if user.group not in groups or user.customer_id not in groups[user.group].customer_ids:
            e.add(where, f"route group {user.group} is not the group of its customer")
        for network in user.allowed_ips:
            try:
                ip_network(network)
            except ValueError:
                e.add(where, f"allowed IP {network!r} is not an address or CIDR network")

    _routes(e, snapshot, customers, groups)

    carriers = {c.id for c in snapshot.carriers}
    e.duplicates("carriers", "carrier id", (c.id for c in snapshot.carriers))
    e.duplicates("gateways", "gateway id", (g.id for g in snapshot.gateways))
    for carrier in snapshot.carriers:
        _pass_headers(e, f"carrier {carrier.id} ({carrier.name})", carrier.pass_headers)
    for gateway in snapshot.gateways:
        if gateway.carrier_id not in carriers:
            e.add(f"gateway {gateway.id}", f"carrier {gateway.carrier_id} is not compiled")
        if not gateway.uri.startswith("sip:") or any(ch.isspace() for ch in gateway.uri):
            e.add(f"gateway {gateway.id}", f"uri {gateway.uri!r} is not a SIP URI")
    e.duplicates("provider_cards", "provider card id",
                 (p.id for p in snapshot.provider_cards))
    for card in snapshot.provider_cards:
        if card.carrier_id not in carriers:
            e.add(f"provider card {card.id}", f"carrier {card.carrier_id} is not compiled")
        if not DIGITS.match(card.tech_prefix):
            e.add(f"provider card {card.id}", "tech prefix must be digits")
    e.duplicates("weights", "card link",
                 ((w.customer_card_id, w.provider_card_id) for w in snapshot.weights))
    e.duplicates("media_zones", "media zone", (z.name for z in snapshot.media_zones))
    if e.errors:
        raise ValidationFailed(e.errors)


def _routes(e: _Errors, snapshot: Snapshot, customers: set[int],
            groups: dict[int, GroupRow]) -> None:
    trees = {t.tree: t.customer_card_id for t in snapshot.tariffs}
    e.duplicates("tariffs", "tariff tree", (t.tree for t in snapshot.tariffs))
    e.duplicates("tariffs", "customer card", (t.customer_card_id for t in snapshot.tariffs))
    for tariff in snapshot.tariffs:
        if not SAFE_KEY.match(tariff.tree):
            e.add(f"tariff of customer card {tariff.customer_card_id}",
                  f"tree name {tariff.tree!r} may only contain letters, digits and . _ @ + -")
    media_sets = {z.set_id for z in snapshot.media_zones} | {-1, 0}
    routes = {r.id: r for r in snapshot.routes}
    with_rules = {r.route_id for r in snapshot.dial_rules}
    e.duplicates("routes", "route id", (r.id for r in snapshot.routes))
    for route in snapshot.routes:
        where = f"route {route.id}" + (f" ({route.name})" if route.name else "")
        if route.customer_id not in customers:
            e.add(where, f"customer {route.customer_id} does not exist")
        if route.tree not in trees:
            e.add(where, f"tariff tree {route.tree!r} is not among the tariffs")
        elif trees[route.tree] != route.customer_card_id:
            e.add(where, f"tariff tree {route.tree!r} belongs to customer card "
                  f"{trees[route.tree]}, not {route.customer_card_id}")
        if not DIGITS.match(route.tech_prefix):
            e.add(where, "tech prefix must be digits")
        if route.strategy not in STRATEGIES:
            e.add(where, f"strategy {route.strategy!r} is not one of {', '.join(STRATEGIES)}")
        if route.sip_ping not in PING_CODES.values():
            e.add(where, f"sip_ping code {route.sip_ping} is unknown")
        if route.cards_mode not in CARDS_MODES or bool(route.cards) != bool(route.cards_mode):
            e.add(where, "lock/exclude cards: a mode needs cards and cards need a mode")
        if route.media_set not in media_sets:
            e.add(where, f"media set {route.media_set} is not a configured media zone")
        if route.has_dial_string != (route.id in with_rules):
            e.add(where, "has_dial_string does not match its dial rules")
    e.duplicates("dial_rules", "route and line",
                 ((r.route_id, r.position) for r in snapshot.dial_rules))
    for rule in snapshot.dial_rules:
        owner = routes.get(rule.route_id)
        name = f" ({owner.name})" if owner is not None and owner.name else ""
        where = f"route {rule.route_id}{name}, dial string line {rule.position}"
        if owner is None:
            e.add(where, f"route {rule.route_id} is not compiled")
        problem = pattern_problem(rule.pattern)
        if problem:
            e.add(where, problem)
    e.duplicates("ingress", "route group and tech prefix",
                 ((i.group, i.tech_prefix) for i in snapshot.ingress))
    for ingress in snapshot.ingress:
        where = f"ingress group {ingress.group} tech prefix {ingress.tech_prefix or '(none)'}"
        if ingress.group not in groups:
            e.add(where, f"route group {ingress.group} does not exist")
        if ingress.route_id not in routes:
            e.add(where, f"route {ingress.route_id} is not compiled")
        elif routes[ingress.route_id].tech_prefix != ingress.tech_prefix:
            e.add(where, f"route {ingress.route_id} has another tech prefix")
        elif ingress.group in groups and \
                routes[ingress.route_id].customer_id not in groups[ingress.group].customer_ids:
            e.add(where, f"the customer of route {ingress.route_id} is not in the group")
