"""apply_snapshot when Kamailio cannot be reached: nothing changes, the error is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.compile.snapshot import Snapshot
from orchestrator.settings import Settings
from orchestrator.switch import store
from orchestrator.switch.apply import (
    ApplyError,
    apply_local,
    apply_snapshot,
    node_lock,
    rollback_local,
    status,
)
from orchestrator.switch.nodes import SwitchNode
from orchestrator.switch.tablefile import (
    read_generation,
    serving_generation,
    set_serving_generation,
    write_generation,
)
from tests.support.ports import free_port
from tests.unit.switch.conftest import tariff_source


def test_unreachable_node_keeps_serving_and_reports(tmp_path: Path, snapshot_a: Snapshot,
                                                    snapshot_b: Snapshot) -> None:
    db = tmp_path / "kamailio.db"
    write_generation(db, snapshot_a, 1, tariff_source)
    set_serving_generation(db, 1)
    node = SwitchNode("edge-1", f"http://127.0.0.1:{free_port()}/RPC", db)
    progress: list[tuple[int, str]] = []
    report = apply_snapshot([node], snapshot_b, tariff_source,
                            progress=lambda p, m: progress.append((p, m)))
    assert not report.ok
    [result] = report.nodes
    assert result.node == "edge-1" and "connection refused" in result.error
    assert serving_generation(db) == 1 and read_generation(db, 2) is None
    assert progress[-1][0] == 100
    try:
        report.raise_for_errors()
    except ApplyError as exc:
        assert "edge-1" in str(exc)
    else:
        raise AssertionError("ApplyError expected")
    info = status(node)
    assert (info["reachable"], info["serving"], info["serving_file"]) == (False, None, 1)
    assert info["version"] == snapshot_a.version and info["other_version"] is None


def test_rollback_without_a_previous_snapshot_is_refused(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    with pytest.raises(LookupError, match="no previous snapshot"):
        rollback_local(settings, tariff_source, who="olivia")


def test_apply_local_records_nothing_when_the_apply_fails(tmp_path: Path,
                                                          snapshot_a: Snapshot) -> None:
    settings = Settings(var_dir=tmp_path, rpc_port=free_port())
    report = apply_local(settings, snapshot_a, tariff_source, who="olivia")
    assert not report.ok and [n.node for n in report.nodes] == ["local"]
    assert store.history(settings) == []


def test_one_apply_at_a_time_per_table_file(tmp_path: Path, snapshot_a: Snapshot) -> None:
    node = SwitchNode("local", f"http://127.0.0.1:{free_port()}/RPC", tmp_path / "k.db")
    with node_lock(node):
        report = apply_snapshot([node], snapshot_a, tariff_source)
    assert "another apply to local is running" in report.nodes[0].error
    assert not node.table_file.exists()          # nothing written
