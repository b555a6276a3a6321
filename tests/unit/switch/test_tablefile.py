"""The table file: schema, generation rows per docs/design/switch-data.md, housekeeping."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from orchestrator.compile.snapshot import (
    AddressRow,
    Candidate,
    Snapshot,
    TariffRef,
    TariffValue,
)
from orchestrator.switch import tablefile
from orchestrator.switch.tablefile import (
    ensure_table_file,
    read_generation,
    serving_generation,
    set_serving_generation,
    sw_items,
    write_generation,
)
from tests.unit.switch.conftest import TARIFFS, make_snapshot, tariff_source

TABLES = ("address", "dialplan", "dispatcher", "mtrees", "ht_sw", "ht_cfg", "orch_generation")


def rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def dump(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {t: rows(db, f"SELECT * FROM {t} ORDER BY 1") for t in TABLES}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "switch" / "kamailio.db"
    ensure_table_file(path)
    return path


def test_schema_from_kamailio_files_with_versions_idempotent(db: Path) -> None:
    ensure_table_file(db)
    versions = dict(rows(db, "SELECT table_name, table_version FROM version"))
    assert {t: versions[t] for t in ("address", "dialplan", "dispatcher", "mtrees", "ht_cfg",
                                     "ht_sw")} == {"address": 6, "dialplan": 2,
                                                   "dispatcher": 4, "mtrees": 2,
                                                   "ht_cfg": 2, "ht_sw": 2}
    assert len(rows(db, "SELECT * FROM version")) == len(versions)
    assert "htable" not in versions
    assert rows(db, "PRAGMA journal_mode") == [("wal",)]
    assert serving_generation(db) is None and read_generation(db, 1) is None


def test_address_rows_ordered_for_kamailio_first_match(db: Path) -> None:
    snap = Snapshot(addresses=(
        AddressRow("10.0.0.0/8", 0, 1), AddressRow("192.0.2.7/32", 5060, 2),
        AddressRow("10.1.0.0/16", 0, 3), AddressRow("192.0.2.7/32", 0, 4),
        AddressRow("10.1.0.0/16", 5060, 5), AddressRow("2001:db8::1/128", 0, 6),
        AddressRow("2001:db8::/48", 0, 7)))
    write_generation(db, snap, 2, tariff_source)
    got = rows(db, "SELECT grp, ip_addr, mask, port, tag FROM address ORDER BY id")
    assert got == [
        # host rows (hash table, last inserted is checked first): any-port first
        (2, "192.0.2.7", 32, 0, "000004"), (2, "2001:db8::1", 128, 0, "000006"),
        (2, "192.0.2.7", 32, 5060, "000002"),
        # subnets (insertion order): longest mask first, port rows before any-port
        (2, "2001:db8::", 48, 0, "000007"), (2, "10.1.0.0", 16, 5060, "000005"),
        (2, "10.1.0.0", 16, 0, "000003"), (2, "10.0.0.0", 8, 0, "000001")]


def test_too_many_subnets_refused(db: Path) -> None:
    snap = Snapshot(addresses=tuple(AddressRow(f"10.{i // 256}.{i % 256}.0/24", 0, 1)
                                    for i in range(257)))
    with pytest.raises(ValueError, match="257 subnet"):
        write_generation(db, snap, 1, tariff_source)


def test_dialplan_dispatcher_ingress_rows_offset_by_generation(db: Path,
                                                               snapshot_a: Snapshot) -> None:
    write_generation(db, snapshot_a, 2, tariff_source)
    assert rows(db, "SELECT dpid, pr, match_op, match_exp, match_len, subst_exp, repl_exp, "
                "attrs FROM dialplan ORDER BY pr") == [
        (200000002, 1, 1, "^44", 0, "", "", ""), (200000002, 2, 1, "^33", 0, "", "", "")]
    assert rows(db, "SELECT setid, destination, flags, priority, attrs, description "
                "FROM dispatcher") == [(200000005, "sip:127.0.0.1:5090", 0, 0, "weight=100",
                                        "gw9")]
    assert rows(db, "SELECT tprefix, tvalue FROM mtrees WHERE tname = 'ing2' ORDER BY 1") == [
        ("000001", "1"), ("00000277", "2")]
    assert sorted(rows(db, "SELECT tprefix, tvalue FROM mtrees WHERE tname = 't1'")) == sorted(
        TARIFFS["t1"])
    info = read_generation(db, 2)
    assert info is not None and (info.version, info.trees) == (snapshot_a.version, ("t1",))


def test_htable_sw_keys_and_types(snapshot_a: Snapshot) -> None:
    items = {key: (vtype, value) for key, vtype, value in sw_items(snapshot_a, 1)}
    assert items["1:u:alice:ha1"] == (0, "0" * 32)
    assert items["1:u:alice:grp"] == (0, "000001")
    assert items["1:nusers"] == (1, "1")
    assert "1:u:alice:ips" not in items
    assert items["1:c:1:st"] == (0, "ok") and items["1:c:1:credit"] == (1, "1")
    assert items["1:r:2:tpl"] == (1, "2") and items["1:r:2:dp"] == (1, "1")
    assert items["1:r:1:media"] == (1, "-1") and items["1:r:1:tree"] == (0, "t1")
    assert items["1:r:1:strat"] == (0, "lcr") and "1:r:1:cards" not in items
    assert items["1:k:5:pre"] == (1, "8000") and items["1:k:5:post"] == (1, "60000")
    assert items["1:p:50"] == (1, "5") and "1:p:50:tp" not in items
    assert items["1:w:101:50"] == (1, "100")
    assert items["1:grp:2"] == (0, "2")
    route_keys = {k.rsplit(":", 1)[1] for k in items if k.startswith("1:r:1:")}
    assert route_keys == {"cust", "ccard", "tpl", "dp", "ch", "cps", "maxdur", "ping",
                          "rtpto", "pa", "strict", "media", "tree", "strat", "fast"}
    # route 1: lcr, no lock/exclude, no profit assurance, its card's parents all usable
    assert items["1:r:1:fast"] == (1, "1")


@pytest.mark.parametrize("change", [
    {"strategy": "random"}, {"profit_assurance": True},
    {"cards_mode": "exclude", "cards": (50,)}])
def test_htable_route_fast_path_only_without_filters_or_reordering(
        change: dict[str, object]) -> None:
    base = make_snapshot()
    routes = (dataclasses.replace(base.routes[0], **change), *base.routes[1:])
    items = {k: v for k, _, v in sw_items(dataclasses.replace(base, routes=routes), 1)}
    assert items["1:r:1:fast"] == "0"


def test_htable_route_not_fast_when_a_parent_card_cannot_carry_calls() -> None:
    base = make_snapshot()
    weights = (*base.weights, base.weights[0].__class__(101, 77, 1))  # card 77: no carrier
    items = {k: v for k, _, v in sw_items(dataclasses.replace(base, weights=weights), 1)}
    assert items["1:r:1:fast"] == "0"


def test_htable_route_cards_and_user_ips() -> None:
    base = make_snapshot()
    user = base.sip_users[0].__class__("bob", "f" * 32, 1, 1, 2, 3,
                                       ("10.0.0.0/8", "192.0.2.1/32"))
    route = base.routes[0].__class__(**{**base.routes[0].__dict__, "cards_mode": "lock",
                                        "cards": (50, 51)})
    snap = Snapshot(**{**base.__dict__, "sip_users": (user,), "routes": (route,)})
    items = {key: (vtype, value) for key, vtype, value in sw_items(snap, 2)}
    assert items["2:u:bob:ips"] == (0, "10.0.0.0/8,192.0.2.1/32")
    assert items["2:r:1:cards"] == (0, "lock")
    assert items["2:r:1:card:50"] == (1, "1") and items["2:r:1:card:51"] == (1, "1")


GEN2 = {"address": "grp = 2", "dialplan": "dpid >= 200000000",
        "dispatcher": "setid >= 200000000", "mtrees": "tname = 'ing2'",
        "ht_sw": "key_name LIKE '2:%'", "orch_generation": "gen = 2"}


def test_writing_a_generation_never_touches_the_other(db: Path, snapshot_a: Snapshot,
                                                      snapshot_b: Snapshot) -> None:
    write_generation(db, snapshot_a, 1, tariff_source)
    write_generation(db, snapshot_b, 2, tariff_source)
    before = {t: rows(db, f"SELECT * FROM {t} WHERE {w} ORDER BY 1") for t, w in GEN2.items()}
    assert all(before.values())
    write_generation(db, make_snapshot("t1", channels=1), 1, tariff_source)
    after = {t: rows(db, f"SELECT * FROM {t} WHERE {w} ORDER BY 1") for t, w in GEN2.items()}
    assert after == before
    assert rows(db, "SELECT key_value FROM ht_sw WHERE key_name = '1:c:1:ch'") == [("1",)]
    assert rows(db, "SELECT key_value FROM ht_sw WHERE key_name = '2:c:1:ch'") == [("99",)]


def test_tariff_trees_shared_written_once_and_deleted_when_unused(
        db: Path, snapshot_a: Snapshot, snapshot_b: Snapshot) -> None:
    calls: list[str] = []

    def counting(ref: TariffRef) -> list[tuple[str, str]]:
        calls.append(ref.tree)
        return tariff_source(ref)

    first = write_generation(db, snapshot_a, 1, counting)
    assert calls == ["t1"] and first.trees_written == ["t1"]     # two cards, one tree
    write_generation(db, snapshot_b, 2, counting)
    assert calls == ["t1", "t2", "t3"]
    again = write_generation(db, snapshot_a, 1, counting)       # t1 already there
    assert calls == ["t1", "t2", "t3"] and again.trees_written == []
    assert again.trees_deleted == []                             # t2, t3 used by gen 2
    last = write_generation(db, snapshot_a, 2, counting)
    assert sorted(last.trees_deleted) == ["t2", "t3"]
    names = {r[0] for r in rows(db, "SELECT DISTINCT tname FROM mtrees")}
    assert names == {"ing1", "ing2", "t1"}


def test_failure_leaves_the_file_as_it_was(db: Path, snapshot_a: Snapshot,
                                           snapshot_b: Snapshot) -> None:
    write_generation(db, snapshot_a, 1, tariff_source)
    set_serving_generation(db, 1)
    before = dump(db)

    def broken(ref: TariffRef) -> list[tuple[str, str]]:
        if ref.tree == "t3":
            raise RuntimeError("rate deck unreadable")
        return tariff_source(ref)

    for gen in (1, 2):
        with pytest.raises(RuntimeError, match="unreadable"):
            write_generation(db, snapshot_b, gen, broken)
        assert dump(db) == before
    assert serving_generation(db) == 1


def test_tariff_dataframe_with_packed_or_object_values(db: Path) -> None:
    value = TariffValue(100, 60, 60, 0, False, (Candidate(50, 80, False),), (0,))
    frames = {"t1": pl.DataFrame({"prefix": ["44", "4420"], "value": ["a|b", "c|d"]}),
              "t2": pl.DataFrame({"prefix": ["33"], "value": [value]},
                                 schema={"prefix": pl.Utf8, "value": pl.Object})}
    snap = make_snapshot("t1", extra_tree="t2")
    write_generation(db, snap, 1, lambda ref: frames[ref.tree])
    assert rows(db, "SELECT tprefix, tvalue FROM mtrees WHERE tname = 't2'") == [
        ("33", value.pack())]
    assert len(rows(db, "SELECT * FROM mtrees WHERE tname = 't1'")) == 2


@pytest.mark.parametrize("bad", [[("44", "x"), ("44", "y")], [("4a", "x")], [("", "x")]])
def test_bad_tariff_prefixes_refused(db: Path, bad: list[tuple[str, str]]) -> None:
    with pytest.raises(ValueError, match="prefix"):
        write_generation(db, make_snapshot(), 1, lambda ref: bad)
    frame = pl.DataFrame({"prefix": [p for p, _ in bad], "value": [v for _, v in bad]})
    with pytest.raises(ValueError, match="prefix"):
        write_generation(db, make_snapshot(), 1, lambda ref: frame)
    assert rows(db, "SELECT count(*) FROM mtrees") == [(0,)]


def test_reserved_tree_name_and_generation_refused(db: Path) -> None:
    with pytest.raises(ValueError, match="reserved"):
        write_generation(db, make_snapshot("ing1"), 1, tariff_source)
    with pytest.raises(ValueError, match="1 or 2"):
        write_generation(db, make_snapshot(), 3, tariff_source)


def test_serving_generation_round_trip(db: Path) -> None:
    set_serving_generation(db, 2)
    assert serving_generation(db) == 2
    assert rows(db, "SELECT key_name, key_type, value_type, key_value FROM ht_cfg") == [
        ("gen", 0, 1, "2")]
    set_serving_generation(db, None)
    assert serving_generation(db) is None
    assert tablefile.serving_generation(db.parent / "missing.db") is None


@pytest.mark.parametrize("weights,percent", [
    ([(1, 10)], {1: 100}),
    ([(1, 3), (2, 1)], {1: 75, 2: 25}),
    ([(1, 1), (2, 1), (3, 1)], {1: 34, 2: 33, 3: 33}),
    ([(1, 2), (2, 1), (3, 100)], {1: 2, 2: 1, 3: 97}),
])
def test_gateway_weights_become_percents(weights: list[tuple[int, int]],
                                         percent: dict[int, int]) -> None:
    """dispatcher (algorithm 9) reads weight as a percentage and gives the unfilled
    slots of 100 to the last gateway: relative weights are scaled to sum 100."""
    assert tablefile.percent_weights(weights) == percent
    assert sum(percent.values()) == 100
