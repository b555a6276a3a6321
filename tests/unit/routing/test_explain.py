"""explain over a hand-built snapshot (tests/unit/routing/test_explain_sample.py): every
verdict, identification by IP/port/subnet and SIP user, tech prefixes, dial strings,
the tariff, every drop reason, the strategies' orders and notes, limits and media."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import Conflict, ValidationFailed
from orchestrator.routing import explain as ex
from orchestrator.routing.explain_index import SqliteTariffSource, current_index, index_of
from orchestrator.settings import Settings
from tests.unit.routing.test_explain_sample import (
    TREE,
    install,
    sample_snapshot,
    sample_trees,
)

SHARED = "192.0.2.10"
UK = "447700900123"


def run(source_ip: str = SHARED, dialled: str = UK, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("source_port", 5060)
    return ex.explain(sample_snapshot(), sample_trees(), source_ip=source_ip,
                      dialled=dialled, **kwargs)


def drops(result: dict[str, Any]) -> dict[int, str | None]:
    return {c["provider_card_id"]: c["dropped"] for c in result["candidates"]}


def notes(result: dict[str, Any]) -> str:
    return "\n".join(result["notes"])


def test_a_routed_call_reports_everything() -> None:
    result = run()
    assert result["verdict"] == "ok"
    assert (result["customer_id"], result["customer_name"]) == (1, "Alpha")
    assert (result["route_id"], result["route_name"]) == (10, "Alpha default")
    assert result["number"] == UK
    assert (result["tariff_prefix"], result["sell_rate"], result["currency"]) == \
        ("44", "0.02", "EUR")
    assert result["candidates"] == [
        {"provider_card_id": 1, "carrier_id": 1, "prefix": "44", "cost": "0.01",
         "weight": 3, "dropped": None},
        {"provider_card_id": 2, "carrier_id": 2, "prefix": "44", "cost": "0.015",
         "weight": 1, "dropped": None},
        {"provider_card_id": 3, "carrier_id": 1, "prefix": "44", "cost": "0.03",
         "weight": 1, "dropped": None}]
    assert result["order"] == [1, 2, 3]
    assert result["media"] == {"zone": "direct", "mode": "relaxed"}
    assert result["snapshot_version"] == sample_snapshot().version
    assert "customer 1: 10 channels, 5 cps" in notes(result)
    assert "carrier 1 (Acme): 30 channels" in notes(result)
    assert "carrier 2 (Bolt): 10 cps" in notes(result)
    assert "route 10: unlimited" in notes(result)


def test_leading_plus_is_removed() -> None:
    assert run(dialled="+" + UK)["number"] == UK


def test_unknown_source_is_not_authorised() -> None:
    result = run(source_ip="10.0.0.1")
    assert result["verdict"] == "403 IP Not Authorised"
    assert result["customer_id"] is None and result["candidates"] == []
    assert result["order"] == [] and result["media"] is None


def test_shared_ip_is_told_apart_by_tech_prefix() -> None:
    beta = run(dialled="99" + UK)
    assert (beta["customer_id"], beta["route_id"], beta["number"]) == (2, 11, UK)
    assert beta["verdict"] == "ok"


def test_longest_tech_prefix_wins_and_no_tech_prefix_comes_last() -> None:
    assert run(dialled="991" + UK)["route_id"] == 12
    assert run(dialled="99" + UK)["route_id"] == 11
    plain = run(dialled="9" + UK)
    assert (plain["route_id"], plain["number"]) == (10, "9" + UK)
    assert plain["verdict"] == "404 No Rate"


def test_ipv6_host_matches() -> None:
    assert run(source_ip="2001:db8::10")["route_id"] == 10


def test_port_row_beats_any_port_row_of_the_same_host() -> None:
    assert run(source_port=5070)["route_id"] == 13
    assert run(source_port=5071)["route_id"] == 10


def test_omitted_port_is_5060_and_said() -> None:
    result = ex.explain(sample_snapshot(), sample_trees(), source_ip="203.0.113.9",
                        dialled="7123")
    assert result["route_id"] == 70
    assert "source_port not given: 5060 assumed" in result["notes"]


def test_subnets_longest_mask_first_and_port_rows_first() -> None:
    assert run(source_ip="198.51.100.5")["verdict"] == "403 Verification Required"
    inactive = run(source_ip="198.51.100.200")
    assert inactive["verdict"] == "403 Account Inactive"
    assert (inactive["customer_id"], inactive["route_id"]) == (3, 30)
    assert run(source_ip="203.0.113.9", source_port=5080)["route_id"] == 50
    assert run(source_ip="203.0.113.9", source_port=5060, dialled="7123")["route_id"] == 70


def test_no_ingress_route() -> None:
    result = run(source_ip="203.0.113.9", dialled=UK)
    assert result["verdict"] == "404 No Ingress Route"
    assert result["route_id"] is None and result["customer_id"] is None


def test_dial_string_by_prefix_and_by_regex() -> None:
    assert run(source_port=5070)["verdict"] == "ok"
    assert run(source_port=5070, dialled="12045550100")["verdict"] == "ok"
    assert run(source_port=5070, dialled="12265550100")["verdict"] == "404 No Rate"
    blocked = run(source_port=5070, dialled="13055550100")
    assert blocked["verdict"] == "403 Blocked by Dial String"
    assert blocked["tariff_prefix"] is None and blocked["candidates"] == []


def test_dial_string_is_checked_before_the_customer() -> None:
    snap = sample_snapshot()
    customers = tuple(replace(c, state="inactive") if c.id == 1 else c
                      for c in snap.customers)
    inactive = replace(snap, customers=customers)
    blocked = ex.explain(inactive, sample_trees(), source_ip=SHARED, source_port=5070,
                         dialled="13055550100")
    assert blocked["verdict"] == "403 Blocked by Dial String"
    allowed = ex.explain(inactive, sample_trees(), source_ip=SHARED, source_port=5070,
                         dialled=UK)
    assert allowed["verdict"] == "403 Account Inactive"


def test_no_rate_and_destination_blocked() -> None:
    assert run(dialled="8888")["verdict"] == "404 No Rate"
    blocked = run(dialled="442071234567")
    assert blocked["verdict"] == "403 Destination Blocked"
    assert blocked["tariff_prefix"] == "4420"


def test_lock_and_profit_assurance_drop_with_their_reasons() -> None:
    result = run(dialled="991" + UK)
    assert drops(result) == {1: None, 2: "not in the route's locked cards",
                             3: "costs more than the sell rate"}
    assert result["order"] == [1]
    assert "route 12: 20 channels" in notes(result)


def test_exclude_drops_with_its_reason_and_media_zone_is_reported() -> None:
    result = run(source_port=5070)
    assert drops(result) == {1: None, 2: "excluded by the route", 3: None}
    assert result["order"] == [1, 3]
    assert result["media"] == {"zone": "eu", "mode": "strict"}
    assert "503 Media Proxy Unavailable" in notes(result)


def test_card_without_carrier_is_dropped_and_none_left_is_503() -> None:
    result = run(dialled="3312345")
    assert result["verdict"] == "503 No Routes Available"
    assert result["candidates"] == [{"provider_card_id": 4, "carrier_id": None,
                                     "prefix": "33", "cost": "0.01", "weight": 1,
                                     "dropped": "carrier inactive or without an enabled "
                                                "gateway"}]
    assert result["order"] == []


def test_reverse_lcr_order() -> None:
    assert run(dialled="99" + UK)["order"] == [3, 2, 1]


def test_round_robin_note() -> None:
    result = run(source_ip="203.0.113.9", dialled="77123")
    assert (result["number"], result["tariff_prefix"]) == ("7123", "7")
    assert result["order"] == [1, 2]
    assert "round_robin" in notes(result) and "counter" in notes(result)


def test_no_credit_is_402_after_the_candidates() -> None:
    result = run(source_ip="203.0.113.9", source_port=5080)
    assert result["verdict"] == "402 Insufficient Balance"
    assert len(result["candidates"]) == 3 and result["order"] == []


def test_sip_user_with_allowed_ips_and_random_note() -> None:
    result = run(source_ip="10.1.2.3", username="alice")
    assert result["verdict"] == "ok"
    assert (result["customer_id"], result["route_id"]) == (6, 60)
    assert result["order"] == [1, 2, 3]
    assert "weighted by (card 1 = 3, card 2 = 1, card 3 = 1)" in notes(result)
    assert "SIP user alice: 4 channels, 2 cps" in notes(result)
    assert result["media"] == {"zone": "auto", "mode": "relaxed"}
    outside = run(source_ip="10.2.0.1", username="alice")
    assert outside["verdict"] == "403 IP Not Authorised"
    assert "10.1.0.0/16" in notes(outside)


def test_unknown_sip_user_is_not_authorised() -> None:
    assert run(source_ip="10.1.2.3", username="mallory")["verdict"] == \
        "403 IP Not Authorised"


def test_sip_user_customer_is_checked_before_the_route() -> None:
    result = run(source_ip="10.9.9.9", username="carol")
    assert result["verdict"] == "403 Account Inactive"
    assert result["customer_id"] == 3 and result["route_id"] is None


def test_ip_auth_wins_over_a_username() -> None:
    result = run(username="alice")
    assert result["route_id"] == 10
    assert "username ignored" in notes(result)


def test_caller_is_noted() -> None:
    assert "caller does not change the routing" in notes(run(caller="+15551234567"))


def test_bad_input_names_the_field() -> None:
    with pytest.raises(ValidationFailed) as bad:
        run(source_ip="300.1.1.1", dialled="12a")
    assert set(bad.value.errors) == {"source_ip", "dialled"}
    with pytest.raises(ValidationFailed) as port:
        run(source_port=70000)
    assert set(port.value.errors) == {"source_port"}
    with pytest.raises(ValidationFailed):
        run(dialled="1" * 33)


def test_a_missing_tree_is_no_rate_with_a_note() -> None:
    result = ex.explain(sample_snapshot(), {}, source_ip=SHARED, dialled=UK)
    assert result["verdict"] == "404 No Rate"
    assert f"tariff tree '{TREE}'" in notes(result)


def test_index_is_built_once_per_snapshot_version() -> None:
    snap = sample_snapshot()
    assert index_of(snap) is index_of(sample_snapshot())


def test_money_formatting() -> None:
    assert ex.money(0) == "0"
    assert ex.money(100_000_000) == "1"
    assert ex.money(1_230_000) == "0.0123"
    assert ex.money(1) == "0.00000001"


def _table_file(path: Path, trees: dict[str, dict[str, str]]) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE mtrees (id INTEGER PRIMARY KEY, tname TEXT, tprefix TEXT, "
                 "tvalue TEXT)")
    conn.executemany("INSERT INTO mtrees (tname, tprefix, tvalue) VALUES (?, ?, ?)",
                     [(t, p, v) for t, rows in trees.items() for p, v in rows.items()])
    conn.commit()
    conn.close()


def test_sqlite_tariff_source_reads_trees_in_place(tmp_path: Path) -> None:
    path = tmp_path / "kamailio.db"
    trees = sample_trees() | {"t1": {"1": "x"}, "t2": {"2": "y"}}
    _table_file(path, trees)
    source = SqliteTariffSource(path)
    assert dict(source(TREE)) == trees[TREE]
    assert source("t1").get("1") == "x" and source("t1").get("2") is None
    assert len(source("t2")) == 1 and source("t2")
    assert not source("nope") and dict(source("nope")) == {}
    assert not SqliteTariffSource(tmp_path / "missing.db")(TREE)


def test_explain_current_reads_the_serving_snapshot_and_table_file(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    with pytest.raises(Conflict, match="nothing has been applied to the switch yet"):
        ex.explain_current(settings, source_ip=SHARED, dialled=UK)
    with pytest.raises(ValidationFailed):  # input first: 422 even before any apply
        ex.explain_current(settings, source_ip="nope", dialled=UK)
    snap = install(settings)
    result = ex.explain_current(settings, source_ip=SHARED, dialled=UK, source_port=5060)
    assert result["verdict"] == "ok" and result["order"] == [1, 2, 3]
    assert result["snapshot_version"] == snap.version
    assert current_index(settings) is current_index(settings)


def test_explain_current_follows_a_new_apply(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    first = install(settings)
    assert ex.explain_current(settings, source_ip=SHARED, dialled=UK)["verdict"] == "ok"
    snap = sample_snapshot()
    customers = tuple(replace(c, credit=False) if c.id == 1 else c for c in snap.customers)
    second = install(settings, replace(snap, customers=customers), gen=2)
    assert second.version != first.version
    result = ex.explain_current(settings, source_ip=SHARED, dialled=UK)
    assert result["snapshot_version"] == second.version
    assert result["verdict"] == "402 Insufficient Balance"
