"""A small hand-built switch snapshot and tariff for the explain tests (unit, API, web).

Sources:
- 192.0.2.10 (any port): route group 1, shared by customers 1 (Alpha) and 2 (Beta);
  2001:db8::10 too. 192.0.2.10 port 5070: group 2 (Alpha alone).
- 198.51.100.0/24: group 3 (Gamma, inactive); 198.51.100.0/28: group 4 (Delta,
  unverified).
- 203.0.113.0/24 port 5080: group 5 (Broke, no credit); any other port: group 7 (Beta).
- SIP users: alice (SipCo, from 10.1.0.0/16 only), carol (Gamma, inactive).

Routes (group: tech prefix -> route):
- group 1: "" -> 10 (Alpha, lcr), "99" -> 11 (Beta, reverse_lcr), "991" -> 12 (Alpha,
  locked to cards 1 and 3, profit assurance)
- group 2: "" -> 13 (Alpha, dial string ^44 and ^1(204|226), excludes card 2, media
  zone eu strict)
- group 3 -> 30, group 4 -> 40, group 5 -> 50, group 6 -> 60 (SipCo, random),
  group 7: "7" -> 70 (Beta, round robin); group 8 has no route.

Tariff tree t100 (card 100, EUR): 44 sells 0.02 via cards 1 (0.01), 2 (0.015), 3 (0.03,
a loss); 4420 blocked; 1204 via card 1; 33 only via card 4 (no carrier); 7 via 1 and 2.
"""

from __future__ import annotations

from orchestrator.compile.snapshot import (
    AddressRow,
    Candidate,
    CarrierRow,
    CustomerRow,
    DialRule,
    GroupRow,
    IngressRow,
    MediaZone,
    ProviderCardRow,
    RouteRow,
    SipUserRow,
    Snapshot,
    TariffRef,
    TariffValue,
    WeightRow,
)
from orchestrator.settings import Settings
from orchestrator.switch import store, tablefile

TREE = "t100"
CARD = 100


def route(route_id: int, customer_id: int, tech_prefix: str = "", **extra: object) -> RouteRow:
    values: dict[str, object] = {
        "id": route_id, "customer_id": customer_id, "customer_card_id": CARD, "tree": TREE,
        "tech_prefix": tech_prefix, "has_dial_string": False, "channels": 0, "cps": 0,
        "max_duration": 0, "sip_ping": 0, "rtp_timeout": False, "profit_assurance": False,
        "cards_mode": "", "cards": (), "strategy": "lcr", "media_set": -1, "strict": False,
        "name": f"route {route_id}"}
    return RouteRow(**(values | extra))  # type: ignore[arg-type]


def sample_snapshot() -> Snapshot:
    return Snapshot(
        addresses=(
            AddressRow("192.0.2.10/32", 0, 1), AddressRow("192.0.2.10/32", 5070, 2),
            AddressRow("2001:db8::10/128", 0, 1),
            AddressRow("198.51.100.0/24", 0, 3), AddressRow("198.51.100.0/28", 0, 4),
            AddressRow("203.0.113.0/24", 0, 7), AddressRow("203.0.113.0/24", 5080, 5)),
        groups=(GroupRow(1, (1, 2)), GroupRow(2, (1,)), GroupRow(3, (3,)), GroupRow(4, (4,)),
                GroupRow(5, (5,)), GroupRow(6, (6,)), GroupRow(7, (2,)), GroupRow(8, (3,))),
        sip_users=(SipUserRow("alice", "0" * 32, 6, 6, 4, 2, ("10.1.0.0/16",)),
                   SipUserRow("carol", "1" * 32, 3, 8, 0, 0)),
        customers=(CustomerRow(1, "ok", 10, 5, True, "Alpha"),
                   CustomerRow(2, "ok", 0, 0, True, "Beta"),
                   CustomerRow(3, "inactive", 0, 0, True, "Gamma"),
                   CustomerRow(4, "unverified", 0, 0, True, "Delta"),
                   CustomerRow(5, "ok", 0, 0, False, "Broke"),
                   CustomerRow(6, "ok", 0, 0, True, "SipCo")),
        ingress=(IngressRow(1, "", 10), IngressRow(1, "99", 11), IngressRow(1, "991", 12),
                 IngressRow(2, "", 13), IngressRow(3, "", 30), IngressRow(4, "", 40),
                 IngressRow(5, "", 50), IngressRow(6, "", 60), IngressRow(7, "7", 70)),
        routes=(route(10, 1, name="Alpha default"),
                route(11, 2, "99", strategy="reverse_lcr", name="Beta premium"),
                route(12, 1, "991", cards_mode="lock", cards=(1, 3), profit_assurance=True,
                      channels=20),
                route(13, 1, has_dial_string=True, cards_mode="exclude", cards=(2,),
                      media_set=1, strict=True),
                route(30, 3), route(40, 4), route(50, 5),
                route(60, 6, strategy="random", media_set=0),
                route(70, 2, "7", strategy="round_robin")),
        dial_rules=(DialRule(13, 2, "^1(204|226)"), DialRule(13, 1, "^44")),
        carriers=(CarrierRow(1, 30, 0, 30000, 30000, "Acme"),
                  CarrierRow(2, 0, 10, 30000, 30000, "Bolt")),
        provider_cards=(ProviderCardRow(1, 1, ""), ProviderCardRow(2, 2, "0011"),
                        ProviderCardRow(3, 1, "")),
        weights=(WeightRow(CARD, 1, 3), WeightRow(CARD, 2, 1), WeightRow(CARD, 3, 1)),
        tariffs=(TariffRef(CARD, 1000, TREE, "EUR"),),
        media_zones=(MediaZone("auto", 0), MediaZone("eu", 1)),
        realm="switch.test",
    )


def value(sell: int, *cands: tuple[int, int], blocked: bool = False) -> str:
    """A packed tariff value; costs and sell in 10^-8 units, reverse = cost descending."""
    candidates = tuple(Candidate(pc, cost, cost > sell) for pc, cost in cands)
    reverse = tuple(sorted(range(len(candidates)), key=lambda i: -candidates[i].cost))
    return TariffValue(sell, 1, 1, 0, blocked, candidates, reverse).pack()


def sample_trees() -> dict[str, dict[str, str]]:
    return {TREE: {
        "44": value(2_000_000, (1, 1_000_000), (2, 1_500_000), (3, 3_000_000)),
        "4420": value(2_000_000, (1, 1_000_000), blocked=True),
        "1204": value(1_000_000, (1, 500_000)),
        "33": value(5_000_000, (4, 1_000_000)),
        "7": value(10_000_000, (1, 2_000_000), (2, 3_000_000)),
    }}


def install(settings: Settings, snap: Snapshot | None = None, gen: int = 1) -> Snapshot:
    """Apply ``snap`` (default: the sample) to the local node's files as apply does,
    without Kamailio: generation ``gen`` of the table file, serving, in the store."""
    snap = snap or sample_snapshot()
    trees = sample_trees()
    tablefile.write_generation(settings.switch_db, snap, gen,
                               lambda ref: list(trees.get(ref.tree, {}).items()))
    tablefile.set_serving_generation(settings.switch_db, gen)
    store.record(settings, snap, who="test")
    return snap


def test_the_sample_survives_its_json_round_trip() -> None:
    snap = sample_snapshot()
    assert Snapshot.from_json(snap.to_json()) == snap


def test_sample_values_unpack() -> None:
    unpacked = TariffValue.unpack(sample_trees()[TREE]["44"])
    assert [c.provider_card_id for c in unpacked.candidates] == [1, 2, 3]
    assert unpacked.reverse == (2, 1, 0)
    assert [c.loss for c in unpacked.candidates] == [False, False, True]
