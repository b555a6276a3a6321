"""Hand-built snapshots for the switch tests (no model, no compiler)."""

from __future__ import annotations

import pytest

from orchestrator.compile import snapshot as s
from orchestrator.compile.snapshot import RouteRow, Snapshot, TariffRef


def route(id: int, customer_id: int, tree: str, **changes: object) -> RouteRow:
    values: dict[str, object] = dict(
        id=id, customer_id=customer_id, customer_card_id=100 + id, tree=tree,
        tech_prefix="", has_dial_string=False, channels=0, cps=0, max_duration=0,
        sip_ping=0, rtp_timeout=False, profit_assurance=False, cards_mode="", cards=(),
        strategy="lcr", media_set=-1, strict=False)
    values.update(changes)
    return RouteRow(**values)  # type: ignore[arg-type]


def make_snapshot(tree: str = "t1", *, channels: int = 10, extra_tree: str = "") -> Snapshot:
    """Two customers (route groups 1 and 2), a route each, one carrier with a gateway."""
    tariffs = [TariffRef(101, 1, tree, "USD")]
    routes = [route(1, 1, tree, channels=channels),
              route(2, 2, tree, tech_prefix="77", has_dial_string=True, customer_card_id=101)]
    if extra_tree:
        tariffs.append(TariffRef(103, 2, extra_tree, "EUR"))
        routes.append(route(3, 2, extra_tree))
    return Snapshot(
        addresses=(s.AddressRow("127.0.0.1/32", 0, 1), s.AddressRow("10.0.0.0/8", 0, 2)),
        groups=(s.GroupRow(1, (1,)), s.GroupRow(2, (2,))),
        customers=(s.CustomerRow(1, "ok", channels, 5, True, "alpha"),
                   s.CustomerRow(2, "ok", 20, 5, True, "beta")),
        ingress=(s.IngressRow(1, "", 1), s.IngressRow(2, "77", 2)),
        routes=tuple(routes),
        dial_rules=(s.DialRule(2, 1, "^44"), s.DialRule(2, 2, "^33")),
        carriers=(s.CarrierRow(5, 30, 10, 8000, 60000, "carrier"),),
        gateways=(s.GatewayRow(9, 5, "sip:127.0.0.1:5090", 10),),
        provider_cards=(s.ProviderCardRow(50, 5, ""),),
        weights=(s.WeightRow(101, 50, 100),),
        sip_users=(s.SipUserRow("alice", "0" * 32, 1, 1, 0, 0),),
        tariffs=tuple(tariffs),
        realm="switch.local",
    )


TARIFFS = {
    "t1": [("44", "100|60|60|0|a|50:80:0|0"), ("4420", "120|60|60|0|a|50:90:0|0")],
    "t2": [("44", "150|60|60|0|a|50:80:0|0"),
           # 30 candidates: a value far longer than the schema's VARCHAR(128)
           ("33", "90|60|60|0|a|" + ";".join(f"{1000 + i}:{900 + i}:1" for i in range(30))
            + "|" + ";".join(str(i) for i in reversed(range(30))))],
    "t3": [("1", "10|60|60|0|a||")],
}


def tariff_source(ref: TariffRef) -> list[tuple[str, str]]:
    return TARIFFS[ref.tree]


@pytest.fixture
def snapshot_a() -> Snapshot:
    return make_snapshot("t1")


@pytest.fixture
def snapshot_b() -> Snapshot:
    return make_snapshot("t2", channels=99, extra_tree="t3")
