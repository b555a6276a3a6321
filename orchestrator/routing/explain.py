"""Explain a call: what the switch will do with it and why (PRODUCT.md §2).

``explain`` walks the decision procedure of the Kamailio script over the same data the
switch serves: the applied ``Snapshot`` (orchestrator/compile/snapshot.py) and the
tariff trees of the node's table file. It reads no ORM. The script
(templates/kamailio/steps.cfg.j2, carriers.cfg.j2) implements exactly these steps; change both
together. Money is integer units of 10^-8 of the tariff's currency in the snapshot and
a decimal string in the answer.

Input: ``source_ip``, ``source_port`` (omitted: 5060, said in ``notes``), ``dialled``
(digits, optionally after one leading ``+``), optional ``username`` (the call
authenticates by digest as this SIP user) and ``caller``.

1. Identify (route IDENTIFY).
   a. By IP (permissions ``address`` rows): host rows (mask /32 or /128) first; for
      the same address a row whose port is the source port wins over a port-0 (any
      port) row. Then subnet rows, longest mask first, port rows before port-0 rows
      (snapshot order otherwise); a port row only matches the source port. The row's
      ``group`` is the route group (the customers sharing that source). When the
      source matches, the switch never challenges: a ``username`` is ignored.
   b. Else, with a username (the switch challenged with 407; explain assumes the
      right password): the SIP user of exactly that username; unknown, or its
      ``allowed_ips`` are not empty and the source is in none of them:
      ``403 IP Not Authorised``. Its ``group`` is the route group; its customer is
      known now and checked as in step 4 before the route is picked.
   c. Else ``403 IP Not Authorised``.
2. Route (route INGRESS). A leading ``+`` of the dialled number is removed. Longest
   prefix match of ``group_key(group, "") + dialled`` (the 6-digit group then the
   digits) among the ingress keys ``group_key(group, tech_prefix)`` (mtree ``ing<g>``,
   longest match); the bare 6-digit key is the route without tech prefix, so it only
   wins when no tech prefix matches. Ties were resolved by the compiler (priority,
   then id). No key: ``404 No Ingress Route``. ``number`` = dialled minus the route's
   tech prefix.
3. Dial string (still INGRESS): when the route has one (``has_dial_string``), some
   pattern of its dial rules must match the number, else
   ``403 Blocked by Dial String``; a route without a dial string allows every number.
   Kamailio's dialplan runs each PCRE unanchored, so explain uses ``re.search``; the
   compiler anchors every line (``44`` -> ``^44``, other regexes -> ``^(?:...)``), so
   this is the same as ``re.match``.
4. Customer (route CUSTOMER) = the route's customer: state ``ok`` passes,
   ``unverified`` -> ``403 Verification Required``, anything else (``inactive``, or
   missing from the snapshot) -> ``403 Account Inactive``.
   Then the header policy (route HEADERS_FROM_CUSTOMER): noted, explain_headers.py.
5. Tariff (route TARIFF): longest prefix of ``number`` (1..len digits, never empty)
   in the route's tree -> packed ``TariffValue``. None: ``404 No Rate``; status
   blocked: ``403 Destination Blocked``.
6. Candidates (route CANDIDATES), in the strategy's order (``route.strategy``, the
   route's override or the card's): ``lcr`` the stored order; ``reverse_lcr`` the
   ``reverse`` indices; ``random``: explain lists the stored order, the switch draws a
   weighted shuffle by the ``WeightRow`` of (customer card, provider card), absent or
   below 1 counting as 1 (noted, with the weights); ``round_robin``: explain lists the
   stored order, the switch rotates it by its counter per route and candidate list
   (noted). Each candidate is dropped by the first of: lock mode and not listed ->
   "not in the route's locked cards"; exclude mode and listed -> "excluded by the
   route"; route profit assurance and the candidate's ``loss`` flag (cost > sell) ->
   "costs more than the sell rate"; provider card not in ``provider_cards`` ->
   "carrier inactive or without an enabled gateway". None left:
   ``503 No Routes Available``.
7. Limits (route LIMITS): channel and cps counts are live state, so explain lists the
   limits that apply (customer, SIP user, route, each remaining carrier: those are
   checked when the carrier is tried). Credit is known: customer ``credit`` false ->
   ``402 Insufficient Balance``.
8. Media (route MEDIA_OFFER): route ``media_set`` -1 = direct media, else the
   rtpengine set of a media zone (0 = ``auto``); ``strict`` refuses with
   ``503 Media Proxy Unavailable`` when that set's rtpengine does not answer (live
   state, noted). Reported as soon as the route is known.

The answer: ``verdict`` ("ok" or the SIP code and reason), ``customer_id``,
``customer_name``, ``route_id``, ``route_name``, ``number``, ``tariff_prefix``,
``sell_rate``, ``currency``, ``candidates`` (each ``provider_card_id``,
``carrier_id``, ``prefix``, ``cost``, ``weight`` as the switch counts it, ``dropped``:
null or the reason),
``order`` (provider card ids the switch tries, in order; empty unless the verdict is
ok), ``media`` ({zone, mode} once a route is picked), ``notes`` and
``snapshot_version``. Fields not reached before a refusal are null.
"""

from __future__ import annotations

from typing import Any

from orchestrator.compile.snapshot import (
    Candidate,
    CustomerRow,
    RouteRow,
    SipUserRow,
    Snapshot,
    TariffValue,
    group_key,
)
from orchestrator.routing import explain_index
from orchestrator.routing.explain_headers import carrier_notes, customer_notes
from orchestrator.routing.explain_index import (
    SnapshotIndex,
    TariffSource,
    TariffTrees,
    index_of,
    tariff_source,
)
from orchestrator.routing.explain_query import (  # noqa: F401 (re-exported)
    ACCOUNT_INACTIVE,
    BLOCKED_BY_DIAL_STRING,
    DEFAULT_PORT,
    DESTINATION_BLOCKED,
    DIALLED,
    EXCLUDED,
    INSUFFICIENT_BALANCE,
    IP_NOT_AUTHORISED,
    LOSS,
    MONEY_PLACES,
    NO_INGRESS_ROUTE,
    NO_RATE,
    NO_ROUTES,
    NOT_LOCKED,
    OK,
    UNAVAILABLE,
    VERIFICATION_REQUIRED,
    Query,
    _limits,
    money,
)
from orchestrator.settings import Settings


class _Walk:
    """One explain: the answer being filled in, step by step."""

    def __init__(self, idx: SnapshotIndex, trees: TariffSource, query: Query) -> None:
        self.idx = idx
        self.trees = trees
        self.q = query
        self.notes: list[str] = []
        self.out: dict[str, Any] = {
            "verdict": OK, "customer_id": None, "customer_name": None, "route_id": None,
            "route_name": None, "number": None, "tariff_prefix": None, "sell_rate": None,
            "currency": None, "candidates": [], "order": [], "media": None,
            "notes": self.notes, "snapshot_version": idx.version}
        self.user: SipUserRow | None = None

    def run(self) -> dict[str, Any]:
        if not self.q.port_given:
            self.notes.append(f"source_port not given: {DEFAULT_PORT} assumed")
        if self.q.caller is not None:
            self.notes.append("caller does not change the routing (it only matters for "
                              "rating US inter/intra calls)")
        verdict = self._steps()
        self.out["verdict"] = verdict
        if verdict != OK:
            self.out["order"] = []
        return self.out

    def _steps(self) -> str:
        group = self._identify()
        if group is None:
            return IP_NOT_AUTHORISED
        if self.user is not None:
            refused = self._customer(self.user.customer_id)
            if refused:
                return refused
        route = self._route(group)
        if route is None:
            return NO_INGRESS_ROUTE
        self._media(route)
        if not self._dial_string_allows(route):
            return BLOCKED_BY_DIAL_STRING
        refused = self._customer(route.customer_id)
        if refused:
            return refused
        self.notes.extend(customer_notes(self.idx.customers[route.customer_id]))
        value = self._tariff(route)
        if value is None:
            return NO_RATE
        if value.blocked:
            return DESTINATION_BLOCKED
        order = self._candidates(route, value)
        if not order:
            return NO_ROUTES
        self._note_limits(route, order)
        customer = self.idx.customers[route.customer_id]
        if not customer.credit:
            return INSUFFICIENT_BALANCE
        self._note_media(route)
        self.notes.extend(carrier_notes(self.idx, order))
        self.out["order"] = order
        return OK

    # 1. identify ---------------------------------------------------------------------
    def _identify(self) -> int | None:
        q, idx = self.q, self.idx
        row = idx.match_address(q.source, q.port)
        if row is not None:
            port = "any port" if row.port == 0 else f"port {row.port}"
            self.notes.append(f"source {q.source} port {q.port} matches IP auth "
                              f"{row.network} ({port}): route group {row.group}, "
                              f"customers {self._group_customers(row.group)}")
            if q.username is not None:
                self.notes.append("the source matches IP auth, so the switch does not "
                                  "challenge: username ignored")
            return row.group
        if q.username is None:
            self.notes.append(f"source {q.source} port {q.port} matches no IP auth entry "
                              "and no username was given")
            return None
        user = idx.sip_users.get(q.username)
        if user is None:
            self.notes.append(f"no SIP user {q.username!r}")
            return None
        networks = idx.user_networks.get(user.username, ())
        if networks and not any(q.source in n for n in networks):
            self.notes.append(f"SIP user {user.username!r} may only call from "
                              f"{', '.join(user.allowed_ips)}")
            return None
        self.user = user
        self.notes.append(f"authenticated as SIP user {user.username!r} (customer "
                          f"{user.customer_id}): route group {user.group}")
        return user.group

    def _group_customers(self, group: int) -> str:
        row = self.idx.groups.get(group)
        return ", ".join(map(str, row.customer_ids)) if row else "none"

    # 2. route, 3. customer, 4. dial string ---------------------------------------------
    def _route(self, group: int) -> RouteRow | None:
        key = group_key(group) + self.q.dialled
        for end in range(len(key), len(group_key(group)) - 1, -1):
            route_id = self.idx.ingress.get(key[:end])
            if route_id is None:
                continue
            route = self.idx.routes.get(route_id)
            if route is None:  # the switch finds no settings for it either
                self.notes.append(f"ingress key {key[:end]} names route {route_id}, "
                                  "which is not in the snapshot")
                return None
            self.out |= {"route_id": route.id, "route_name": route.name,
                         "number": self.q.dialled[len(route.tech_prefix):]}
            how = (f"by its tech prefix {route.tech_prefix!r} (stripped)"
                   if route.tech_prefix else f"without tech prefix: no tech prefix of "
                   f"route group {group} matched")
            self.notes.append(f"route {route.id} chosen {how}")
            return route
        self.notes.append(f"no ingress route of route group {group} matches "
                          f"{self.q.dialled}")
        return None

    def _customer(self, customer_id: int) -> str | None:
        customer: CustomerRow | None = self.idx.customers.get(customer_id)
        self.out["customer_id"] = customer_id
        if customer is None:
            self.notes.append(f"customer {customer_id} is not in the snapshot")
            return ACCOUNT_INACTIVE
        self.out["customer_name"] = customer.name
        if customer.state == "ok":
            return None
        return VERIFICATION_REQUIRED if customer.state == "unverified" else ACCOUNT_INACTIVE

    def _dial_string_allows(self, route: RouteRow) -> bool:
        patterns = self.idx.dial.get(route.id, ())
        if not route.has_dial_string:
            return True
        number = self.out["number"]
        for pattern in patterns:
            if pattern.regex is None:
                self.notes.append(f"dial string line {pattern.position} "
                                  f"{pattern.pattern!r} is not a Python regular expression")
            elif pattern.regex.search(number):
                self.notes.append(f"dial string line {pattern.position} "
                                  f"{pattern.pattern!r} allows {number}")
                return True
        return False

    # 5. tariff -------------------------------------------------------------------------
    def _tariff(self, route: RouteRow) -> TariffValue | None:
        rows = self.trees(route.tree)
        tariff = self.idx.tariffs.get(route.customer_card_id)
        self.out["currency"] = tariff.currency if tariff else None
        if not rows:
            self.notes.append(f"tariff tree {route.tree!r} of customer card "
                              f"{route.customer_card_id} has no rows on this node")
        number: str = self.out["number"]
        for end in range(len(number), 0, -1):
            packed = rows.get(number[:end])
            if packed is not None:
                value = TariffValue.unpack(packed)
                self.out |= {"tariff_prefix": number[:end], "sell_rate": money(value.sell)}
                return value
        return None

    # 6. candidates ---------------------------------------------------------------------
    def _candidates(self, route: RouteRow, value: TariffValue) -> list[int]:
        strategy = route.strategy
        cands: list[Candidate] = list(value.candidates)
        if strategy == "reverse_lcr":
            cands = [value.candidates[i] for i in value.reverse]
        elif strategy not in ("lcr", "random", "round_robin"):
            self.notes.append(f"unknown strategy {strategy!r}: stored (lcr) order")
        listed = set(route.cards)
        weights = {c.provider_card_id: max(1, self.idx.weights.get(
            (route.customer_card_id, c.provider_card_id), 1)) for c in cands}
        order: list[int] = []
        for cand in cands:
            reason = self._dropped(route, cand, listed)
            card = self.idx.provider_cards.get(cand.provider_card_id)
            self.out["candidates"].append({
                "provider_card_id": cand.provider_card_id,
                "carrier_id": card.carrier_id if card else None,
                "prefix": self.out["tariff_prefix"], "cost": money(cand.cost),
                "weight": weights[cand.provider_card_id], "dropped": reason})
            if reason is None:
                order.append(cand.provider_card_id)
        if strategy == "random" and order:
            drawn = ", ".join(f"card {pc} = {weights[pc]}" for pc in order)
            self.notes.append(f"random: the switch draws a random order weighted by "
                              f"({drawn}); order lists the lcr order")
        if strategy == "round_robin" and order:
            self.notes.append(f"round_robin: the switch rotates this order by its counter "
                              f"for route {route.id} and this candidate list (not known "
                              "here); order lists the stored order")
        return order

    def _dropped(self, route: RouteRow, cand: Candidate, listed: set[int]) -> str | None:
        if route.cards_mode == "lock" and cand.provider_card_id not in listed:
            return NOT_LOCKED
        if route.cards_mode == "exclude" and cand.provider_card_id in listed:
            return EXCLUDED
        if route.profit_assurance and cand.loss:
            return LOSS
        if cand.provider_card_id not in self.idx.provider_cards:
            return UNAVAILABLE
        return None

    # 7. limits, 8. media ---------------------------------------------------------------
    def _note_limits(self, route: RouteRow, order: list[int]) -> None:
        customer = self.idx.customers[route.customer_id]
        parts = [_limits(f"customer {customer.id}", customer.channels, customer.cps)]
        if self.user is not None:
            parts.append(_limits(f"SIP user {self.user.username}", self.user.channels,
                                 self.user.cps))
        parts.append(_limits(f"route {route.id}", route.channels, route.cps))
        carriers = dict.fromkeys(self.idx.provider_cards[pc].carrier_id for pc in order)
        for carrier_id in carriers:
            carrier = self.idx.carriers.get(carrier_id)
            if carrier is None:
                parts.append(f"carrier {carrier_id}: no limits row")
                continue
            name = f" ({carrier.name})" if carrier.name else ""
            parts.append(_limits(f"carrier {carrier_id}{name}", carrier.channels,
                                 carrier.cps))
        self.notes.append("limits checked live by the switch (503 Channel Limit Reached / "
                          "503 CPS Limit Reached; current counts are not known here): "
                          + "; ".join(parts))

    def _media(self, route: RouteRow) -> None:
        mode = "strict" if route.strict else "relaxed"
        if route.media_set == -1:
            zone = "direct"
        else:
            zone = self.idx.zones.get(route.media_set) or (
                "auto" if route.media_set == 0 else f"set {route.media_set}")
        self.out["media"] = {"zone": zone, "mode": mode}

    def _note_media(self, route: RouteRow) -> None:
        if route.media_set != -1 and route.strict:
            self.notes.append(f"strict media: the switch refuses with 503 Media Proxy "
                              f"Unavailable when the rtpengine of zone "
                              f"{self.out['media']['zone']} does not answer")


def explain_query(snap: Snapshot, trees: TariffTrees, query: Query, *,
                  index: SnapshotIndex | None = None) -> dict[str, Any]:
    """Explain a checked query over a snapshot and its tariff trees."""
    idx = index if index is not None else index_of(snap)
    return _Walk(idx, tariff_source(trees), query).run()


def explain(snap: Snapshot, trees: TariffTrees, *, source_ip: str, dialled: str,
            source_port: int | None = None, username: str | None = None,
            caller: str | None = None, index: SnapshotIndex | None = None) -> dict[str, Any]:
    """What the switch does with this call over ``snap`` (see the module docstring).

    ``trees``: tree name -> {prefix: packed TariffValue}, a mapping or a callable.
    Bad input raises ValidationFailed naming the field."""
    query = Query.parse(source_ip=source_ip, dialled=dialled, source_port=source_port,
                        username=username, caller=caller)
    return explain_query(snap, trees, query, index=index)


# --- the serving snapshot -------------------------------------------------------------

def explain_current(settings: Settings, *, source_ip: str, dialled: str,
                    source_port: int | None = None, username: str | None = None,
                    caller: str | None = None) -> dict[str, Any]:
    """Explain a call over the snapshot the switch serves now.

    Raises ValidationFailed on bad input, Conflict when nothing has been applied."""
    query = Query.parse(source_ip=source_ip, dialled=dialled, source_port=source_port,
                        username=username, caller=caller)
    idx = explain_index.current_index(settings)
    return _Walk(idx, explain_index.tariffs_of(settings), query).run()
