"""The switch snapshot: everything Kamailio needs to route calls, as plain rows.

``compile_snapshot`` (orchestrator/compile/compiler.py) builds it from the model;
``orchestrator/switch/`` writes it into a node's Kamailio tables as one generation
(docs/design/switch-data.md has the exact key layout); ``orchestrator/routing/explain``
walks the same rows in Python. The snapshot holds no generation: the same snapshot
can be loaded as generation 1 or 2.

Tariff rows (up to millions per card) are not part of this object: each tariff is
referenced by a content-derived tree name (``TariffRef.tree``) and its rows come from
``compile.tariffs.tariff_rows``. Everything else is small and serialised to JSON
(canonical: sorted keys, no spaces) whose sha256 is the snapshot ``version``.

Money is integer units of 10^-8 of the card currency, as in the rates table.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from orchestrator.header_policy import DEFAULT_PASS

FORMAT = 1

# Route group ids (the 6-digit head of an ingress key) are below this.
MAX_GROUP = 999_999

# sip_ping codes in the switch
PING_CODES = {"disabled": 0, "both": 1, "upstream": 2, "downstream": 3}


@dataclass(frozen=True)
class AddressRow:
    """One permissions ``address`` row: a source network (and port) -> route group.

    ``group`` identifies the set of customers whose IP auth entries all match every
    source in this row (an "IP set"). Rows are ordered so that Kamailio's first match
    is the most specific one (docs/design/switch-data.md)."""

    network: str        # normalised CIDR, "192.0.2.7/32"
    port: int           # 0 = any port
    group: int


@dataclass(frozen=True)
class GroupRow:
    """A route group: the customers whose routes compete for calls of one source."""

    group: int
    customer_ids: tuple[int, ...]


@dataclass(frozen=True)
class SipUserRow:
    username: str
    ha1: str            # md5(username:realm:password), hex
    customer_id: int
    group: int          # the route group of this customer alone
    channels: int       # 0 = unlimited
    cps: int
    allowed_ips: tuple[str, ...] = ()  # CIDRs; empty = any source


@dataclass(frozen=True)
class CustomerRow:
    id: int
    state: str          # "ok" | "inactive" | "unverified"
    channels: int
    cps: int
    credit: bool        # balance + debit_limit > 0
    name: str = ""
    pass_headers: str = DEFAULT_PASS  # canonical text (orchestrator/header_policy.py)
    pai: str = "accept"               # accept | require | remove
    # available credit (balance + debit_limit) x 60 in rate units, for credit control of
    # running calls (templates/kamailio/credit.cfg.j2); "" = none. Live data: not part
    # of the version (a rated call must not make the model "pending"); pushed between
    # applies by orchestrator/billing/credit.py
    money: str = ""


@dataclass(frozen=True)
class IngressRow:
    """mtree ingress key = 6-digit group + tech prefix -> route id (winner of ties)."""

    group: int
    tech_prefix: str
    route_id: int


@dataclass(frozen=True)
class RouteRow:
    id: int
    customer_id: int
    customer_card_id: int
    tree: str           # tariff tree name (TariffRef.tree of the card)
    tech_prefix: str
    has_dial_string: bool
    channels: int
    cps: int
    max_duration: int   # seconds, 0 = none
    sip_ping: int       # PING_CODES value
    rtp_timeout: bool
    profit_assurance: bool
    cards_mode: str     # "lock" | "exclude" | ""
    cards: tuple[int, ...]  # provider card ids of lock/exclude
    strategy: str       # effective: route override or the card's
    media_set: int      # rtpengine set id; -1 = direct media
    strict: bool        # rtp_proxy_mode strict
    name: str = ""


@dataclass(frozen=True)
class DialRule:
    route_id: int
    position: int       # 1-based line number of the dial string
    pattern: str        # PCRE matched from the start of the number


@dataclass(frozen=True)
class CarrierRow:
    id: int
    channels: int
    cps: int
    pre_ring_ms: int
    post_ring_ms: int
    name: str = ""
    pass_headers: str = DEFAULT_PASS
    trust_pai: bool = True  # gets PAI of callers asking for privacy (Privacy: id)


@dataclass(frozen=True)
class GatewayRow:
    id: int
    carrier_id: int
    uri: str            # "sip:host:port" or "sip:host:port;transport=tcp"
    weight: int


@dataclass(frozen=True)
class ProviderCardRow:
    """A provider card that can carry calls: its carrier is active with a gateway."""

    id: int
    carrier_id: int
    tech_prefix: str


@dataclass(frozen=True)
class WeightRow:
    customer_card_id: int
    provider_card_id: int
    weight: int


@dataclass(frozen=True)
class TariffRef:
    """A customer card's active tariff as one mtree tree.

    ``tree`` is derived from content that never changes once written (the active
    revision id; for external cards also the provider revisions its candidates came
    from), so two snapshots with the same tariff share the tree."""

    customer_card_id: int
    revision_id: int
    tree: str
    currency: str
    external: bool = False
    provider_revisions: tuple[int, ...] = ()


@dataclass(frozen=True)
class MediaZone:
    name: str
    set_id: int


# Live values: stored with the snapshot, left out of its version.
LIVE_FIELDS: dict[str, tuple[str, ...]] = {"customers": ("money",)}

# Fields added to format 1 rows later: left out of the canonical form while they hold
# their default, so that a snapshot stored before they existed keeps its version (it
# loads, and the same model compiles to the same version).
ADDED_FIELDS: dict[str, dict[str, object]] = {
    "customers": {"pass_headers": DEFAULT_PASS, "pai": "accept", "money": ""},
    "carriers": {"pass_headers": DEFAULT_PASS, "trust_pai": True},
}


@dataclass(frozen=True)
class Snapshot:
    addresses: tuple[AddressRow, ...] = ()
    groups: tuple[GroupRow, ...] = ()
    sip_users: tuple[SipUserRow, ...] = ()
    customers: tuple[CustomerRow, ...] = ()
    ingress: tuple[IngressRow, ...] = ()
    routes: tuple[RouteRow, ...] = ()
    dial_rules: tuple[DialRule, ...] = ()
    carriers: tuple[CarrierRow, ...] = ()
    gateways: tuple[GatewayRow, ...] = ()
    provider_cards: tuple[ProviderCardRow, ...] = ()
    weights: tuple[WeightRow, ...] = ()
    tariffs: tuple[TariffRef, ...] = ()
    media_zones: tuple[MediaZone, ...] = ()
    realm: str = ""
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def canonical(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("warnings")
        data["format"] = FORMAT
        for kind, defaults in ADDED_FIELDS.items():
            for row in data[kind]:
                for name, default in defaults.items():
                    if row[name] == default:
                        del row[name]
        return data

    @property
    def version(self) -> str:
        """sha256 of the canonical JSON (warnings and live values excluded): same model,
        same version."""
        data = self.canonical()
        for kind, names in LIVE_FIELDS.items():
            for row in data[kind]:
                for name in names:
                    row.pop(name, None)
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def to_json(self) -> str:
        data = self.canonical() | {"warnings": list(self.warnings), "version": self.version}
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Snapshot:
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise ValueError(f"snapshot format {data.get('format')!r}, expected {FORMAT}")
        kinds = {"addresses": AddressRow, "groups": GroupRow, "sip_users": SipUserRow,
                 "customers": CustomerRow, "ingress": IngressRow, "routes": RouteRow,
                 "dial_rules": DialRule, "carriers": CarrierRow, "gateways": GatewayRow,
                 "provider_cards": ProviderCardRow, "weights": WeightRow,
                 "tariffs": TariffRef, "media_zones": MediaZone}
        values: dict[str, Any] = {"realm": data.get("realm", ""),
                                  "warnings": tuple(data.get("warnings", ()))}
        for name, kind in kinds.items():
            values[name] = tuple(_row(kind, item) for item in data.get(name, ()))
        snap = cls(**values)
        if "version" in data and data["version"] != snap.version:
            raise ValueError("snapshot content does not match its version")
        return snap


def _row(kind: type, item: dict[str, Any]) -> Any:
    names = {f.name for f in fields(kind)}
    return kind(**{k: tuple(v) if isinstance(v, list) else v
                   for k, v in item.items() if k in names})


# --- tariff tree values -------------------------------------------------------------
# mtree value of one tariff prefix: "sell|mcd|pulse|connect_fee|status|cands|rev"
#   status: "a" active, "b" blocked
#   cands:  "pc:cost:loss;..." in lcr order (cost ascending, then the parent's
#           priority, then provider card id); loss = 1 when cost > sell
#   rev:    indices into cands, reverse_lcr order (cost descending, then priority,
#           then id), e.g. "2;0;1"; empty when there are no candidates
#   Lists use ";" (Kamailio's {s.select} cannot take "," as separator).

@dataclass(frozen=True)
class Candidate:
    provider_card_id: int
    cost: int
    loss: bool


@dataclass(frozen=True)
class TariffValue:
    sell: int
    mcd: int
    pulse: int
    connect_fee: int
    blocked: bool
    candidates: tuple[Candidate, ...]   # lcr order
    reverse: tuple[int, ...]            # indices, reverse_lcr order

    def pack(self) -> str:
        cands = ";".join(f"{c.provider_card_id}:{c.cost}:{int(c.loss)}"
                         for c in self.candidates)
        rev = ";".join(str(i) for i in self.reverse)
        return "|".join((str(self.sell), str(self.mcd), str(self.pulse),
                         str(self.connect_fee), "b" if self.blocked else "a", cands, rev))

    @classmethod
    def unpack(cls, value: str) -> TariffValue:
        sell, mcd, pulse, fee, status, cands, rev = value.split("|")
        candidates = []
        for item in filter(None, cands.split(";")):
            card, cost, loss = item.split(":")
            candidates.append(Candidate(int(card), int(cost), loss == "1"))
        return cls(int(sell), int(mcd), int(pulse), int(fee), status == "b",
                   tuple(candidates), tuple(int(i) for i in rev.split(";") if i))


def group_key(group: int, tech_prefix: str = "") -> str:
    """The ingress mtree key of a route group (and tech prefix)."""
    return f"{group:06d}{tech_prefix}"
