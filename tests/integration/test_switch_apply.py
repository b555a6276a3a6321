"""orchestrator.switch against a real Kamailio: apply, flip, rollback, failure, restart.

The Kamailio here loads exactly the modules and parameters the switch data needs
(docs/design/switch-data.md), all reading one SQLite table file through db_sqlite.
The tests run in file order and share one Kamailio and one table file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orchestrator.compile.configs import kamailio_modules_dir
from orchestrator.compile.snapshot import Snapshot, TariffRef
from orchestrator.kamailio import KamailioFault, htable, mtree
from orchestrator.settings import Settings
from orchestrator.stack.daemons import start_kamailio
from orchestrator.stack.processes import ManagedProcess
from orchestrator.switch import apply as switch_apply
from orchestrator.switch import nodes as switch_nodes
from orchestrator.switch import store
from orchestrator.switch.apply import (
    apply_local,
    apply_snapshot,
    rollback,
    rollback_local,
    status,
)
from orchestrator.switch.nodes import SwitchNode
from orchestrator.switch.tablefile import ensure_table_file, serving_generation
from tests.support.dataplane import test_settings as private_settings
from tests.unit.switch.conftest import TARIFFS, make_snapshot, tariff_source

pytestmark = pytest.mark.integration

# The switch data part of kamailio.cfg: the lead copies MODULES and MODPARAMS into
# templates/kamailio/kamailio.cfg.j2 ({db_url} = sqlite:///<absolute table file path>).
MODULES = ("kex", "corex", "tm", "sl", "pv", "db_sqlite", "htable", "permissions",
           "dialplan", "dispatcher", "mtree", "xhttp", "jsonrpcs")
MODPARAMS = (
    ("htable", "db_url", '"{db_url}"'),
    ("htable", "htable", '"cfg=>size=2;autoexpire=0;dbtable=ht_cfg;"'),
    ("htable", "htable", '"sw=>size=16;autoexpire=0;dbtable=ht_sw;"'),
    ("permissions", "db_url", '"{db_url}"'),
    ("permissions", "load_backends", "1"),           # address table only
    ("permissions", "peer_tag_avp", '"$avp(tag)"'),
    ("permissions", "reload_delta", "1"),
    ("dialplan", "db_url", '"{db_url}"'),
    ("dialplan", "reload_delta", "1"),
    ("dispatcher", "db_url", '"{db_url}"'),
    ("dispatcher", "table_name", '"dispatcher"'),
    ("dispatcher", "reload_delta", "1"),
    ("mtree", "db_url", '"{db_url}"'),
    ("mtree", "db_table", '"mtrees"'),
    ("mtree", "char_list", '"0123456789"'),
    ("jsonrpcs", "transport", "1"),
    ("xhttp", "url_match", '"^/RPC"'),
)


def config_text(settings: Settings, db: Path) -> str:
    lines = ["#!KAMAILIO", "debug=2", "log_stderror=yes", "children=1", "tcp_children=2",
             "auto_aliases=no", "dns=no", "rev_dns=no", "tcp_accept_no_cl=yes",
             f'mpath="{kamailio_modules_dir()}"', f"listen=udp:127.0.0.1:{settings.sip_port}",
             f"listen=tcp:127.0.0.1:{settings.rpc_port}"]
    lines += [f'loadmodule "{name}.so"' for name in MODULES]
    lines += [f'modparam("{module}", "{name}", {value})'.replace("{db_url}", f"sqlite:///{db}")
              for module, name, value in MODPARAMS]
    lines += ['request_route { sl_send_reply("404", "Not Here"); }',
              "event_route[xhttp:request] { jsonrpc_dispatch(); }"]
    return "\n".join(lines) + "\n"


def write_config(settings: Settings, db: Path) -> Path:
    cfg = settings.var_dir / "switch.cfg"
    cfg.write_text(config_text(settings, db))
    return cfg


@dataclass
class Switch:
    settings: Settings
    cfg: Path
    node: SwitchNode
    proc: ManagedProcess

    def restart(self) -> None:
        self.proc.stop()
        self.proc = start_kamailio(self.settings, self.cfg)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.node.table_file) as conn:
            return conn.execute(sql).fetchall()


@pytest.fixture(scope="module")
def switch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Switch]:
    settings = private_settings(tmp_path_factory.mktemp("switch"), kamailio_shm_mb=128)
    db = settings.switch_db
    ensure_table_file(db)          # Kamailio needs the tables before it starts
    cfg = write_config(settings, db)
    proc = start_kamailio(settings, cfg)
    sw = Switch(settings, cfg, SwitchNode("local", settings.rpc_url, db), proc)
    try:
        yield sw
    finally:
        sw.proc.stop()


A = make_snapshot("t1")
B = make_snapshot("t2", channels=99, extra_tree="t3")


def sells(switch: Switch, tree: str, number: str) -> str | None:
    found = mtree.match(switch.node.rpc(), tree, number)
    return None if found is None else found.value


def test_first_apply_serves_a_as_generation_1(switch: Switch) -> None:
    assert status(switch.node)["serving"] is None        # new file: nothing serves
    report = apply_local(switch.settings, A, tariff_source, who="olivia")
    assert report.ok, report.nodes
    assert (report.nodes[0].previous, report.nodes[0].generation) == (None, 1)
    info = status(switch.node)
    assert (info["reachable"], info["serving"], info["serving_file"]) == (True, 1, 1)
    assert info["version"] == A.version and info["other_version"] is None
    assert {t["name"]: t["items"] for t in info["trees"]} == {"ing1": 2, "t1": 2}
    rpc = switch.node.rpc()
    assert sells(switch, "t1", "442071234567") == dict(TARIFFS["t1"])["4420"]
    assert mtree.match(rpc, "ing1", "00000277123") == mtree.Match("00000277", "2")
    assert htable.get(rpc, "sw", "1:r:1:ch") == 10
    assert htable.get(rpc, "sw", "1:r:1:tree") == "t1"


def test_second_apply_serves_b_and_keeps_a_in_the_other_generation(switch: Switch) -> None:
    report = apply_local(switch.settings, B, tariff_source, who="olivia")
    assert report.ok, report.nodes
    assert (report.nodes[0].previous, report.nodes[0].generation) == (1, 2)
    assert store.load_current(switch.settings) == B and store.previous(switch.settings) == A
    info = status(switch.node)
    assert (info["serving"], info["version"], info["other_version"]) == (2, B.version,
                                                                          A.version)
    rpc = switch.node.rpc()
    assert htable.get(rpc, "cfg", "gen") == 2
    assert htable.get(rpc, "sw", "2:r:1:ch") == 99
    assert htable.get(rpc, "sw", "1:r:1:ch") == 10                 # A untouched
    assert sells(switch, "t2", "3312345") == dict(TARIFFS["t2"])["33"]
    assert sells(switch, "t1", "4412345") == dict(TARIFFS["t1"])["44"]
    assert {t["name"] for t in info["trees"]} == {"ing1", "ing2", "t1", "t2", "t3"}


def test_rollback_to_a_is_a_flip(switch: Switch) -> None:
    report = rollback_local(switch.settings, tariff_source, who="bob")
    assert report.ok and report.version == A.version, report.nodes
    [node] = report.nodes
    assert (node.flip_only, node.previous, node.generation) == (True, 2, 1)
    assert [(e.version, e.who, e.action) for e in store.history(switch.settings)] == [
        (A.version, "bob", "rollback"), (B.version, "olivia", "apply"),
        (A.version, "olivia", "apply")]
    assert store.load_current(switch.settings) == A
    assert "write" not in node.timings
    info = status(switch.node)
    assert (info["serving"], info["serving_file"], info["version"]) == (1, 1, A.version)
    assert htable.get(switch.node.rpc(), "cfg", "gen") == 1


SERVING_ROWS = ("SELECT * FROM address WHERE grp = 1 ORDER BY id",
                "SELECT * FROM ht_sw WHERE key_name LIKE '1:%' ORDER BY id",
                "SELECT * FROM mtrees WHERE tname IN ('ing1', 't1') ORDER BY id",
                "SELECT * FROM dialplan WHERE dpid < 200000000 ORDER BY id",
                "SELECT * FROM dispatcher WHERE setid < 200000000 ORDER BY id",
                "SELECT * FROM orch_generation WHERE gen = 1", "SELECT * FROM ht_cfg")


def assert_a_serving(switch: Switch, before: list[list[tuple[Any, ...]]]) -> None:
    assert [switch.rows(sql) for sql in SERVING_ROWS] == before
    assert htable.get(switch.node.rpc(), "cfg", "gen") == 1
    assert serving_generation(switch.node.table_file) == 1
    assert status(switch.node)["version"] == A.version
    assert sells(switch, "t1", "442071234567") == dict(TARIFFS["t1"])["4420"]


def test_failed_tariff_source_leaves_a_serving(switch: Switch) -> None:
    before = [switch.rows(sql) for sql in SERVING_ROWS]
    other = switch.rows("SELECT * FROM ht_sw WHERE key_name LIKE '2:%' ORDER BY id")

    def broken(ref: TariffRef) -> list[tuple[str, str]]:
        raise RuntimeError("rate deck unreadable")

    report = apply_snapshot([switch.node], make_snapshot("t9"), broken)
    assert not report.ok and "rate deck unreadable" in report.nodes[0].error
    assert_a_serving(switch, before)
    assert switch.rows("SELECT * FROM ht_sw WHERE key_name LIKE '2:%' ORDER BY id") == other


def test_failed_reload_leaves_a_serving(switch: Switch,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    before = [switch.rows(sql) for sql in SERVING_ROWS]

    def reload_fails(node: SwitchNode) -> dict[str, float]:
        raise KamailioFault(500, "mtree reload failed", "mtree.reload")

    monkeypatch.setattr(switch_apply, "reload_all", reload_fails)
    report = apply_snapshot([switch.node], make_snapshot("t1", channels=5), tariff_source)
    assert not report.ok and "mtree reload failed" in report.nodes[0].error
    assert_a_serving(switch, before)


def test_failed_verification_leaves_a_serving(switch: Switch,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The file has a new generation 2 that Kamailio never loaded: counts differ."""
    before = [switch.rows(sql) for sql in SERVING_ROWS]
    monkeypatch.setattr(switch_apply, "reload_all", lambda node: {})
    report = apply_snapshot([switch.node], make_snapshot("t1", channels=7), tariff_source)
    assert not report.ok and "VerifyError" in report.nodes[0].error
    assert_a_serving(switch, before)


def test_preflight_refuses_a_reload_kamailio_cannot_hold(
        switch: Switch, monkeypatch: pytest.MonkeyPatch) -> None:
    before = [switch.rows(sql) for sql in SERVING_ROWS]
    monkeypatch.setattr(switch_nodes, "PKG_ROW_BYTES", 10**9)   # as if rows were huge
    report = apply_snapshot([switch.node], make_snapshot("t1", channels=6), tariff_source)
    assert not report.ok and "PreflightError" in report.nodes[0].error
    assert "private memory" in report.nodes[0].error
    assert not any(k.startswith("reload:") for k in report.nodes[0].timings)
    assert_a_serving(switch, before)


def test_restart_comes_back_on_the_flipped_generation(switch: Switch) -> None:
    switch.restart()
    info = status(switch.node)
    assert (info["serving"], info["version"]) == (1, A.version)
    assert htable.get(switch.node.rpc(), "sw", "1:r:1:ch") == 10
    assert sells(switch, "t1", "442071234567") == dict(TARIFFS["t1"])["4420"]
    # and the next apply after a restart works from there
    report = apply_snapshot([switch.node], B, tariff_source)
    assert report.ok, report.nodes
    switch.restart()
    assert status(switch.node)["serving"] == 2
    assert htable.get(switch.node.rpc(), "sw", "2:r:1:ch") == 99


def test_rollback_to_a_snapshot_not_in_the_other_generation_applies_it(
        switch: Switch) -> None:
    target = make_snapshot("t3", channels=3)
    report = rollback([switch.node], target, tariff_source)
    assert report.ok, report.nodes
    [node] = report.nodes
    assert (node.flip_only, node.previous, node.generation) == (False, 2, 1)
    info = status(switch.node)
    assert (info["serving"], info["version"], info["other_version"]) == (
        1, target.version, B.version)
    assert {t["name"] for t in info["trees"]} == {"ing1", "ing2", "t2", "t3"}
    assert Snapshot.from_json(target.to_json()) == target
