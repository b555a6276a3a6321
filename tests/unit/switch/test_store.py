"""Applied snapshots kept for rollback, and the apply history."""

from __future__ import annotations

from pathlib import Path

from orchestrator.compile.snapshot import Snapshot
from orchestrator.settings import Settings
from orchestrator.switch import store
from orchestrator.switch.tablefile import set_serving_generation, write_generation
from tests.unit.switch.conftest import make_snapshot, tariff_source


def settings_in(tmp_path: Path, kept: int = 2) -> Settings:
    return Settings(var_dir=tmp_path, snapshots_kept=kept)


def serve(settings: Settings, snapshot: Snapshot, gen: int) -> None:
    write_generation(settings.switch_db, snapshot, gen, tariff_source)
    set_serving_generation(settings.switch_db, gen)


def test_nothing_applied_yet(tmp_path: Path) -> None:
    settings = settings_in(tmp_path)
    assert store.history(settings) == []
    assert store.load_current(settings) is None and store.previous(settings) is None


def test_record_history_current_previous(tmp_path: Path, snapshot_a: Snapshot,
                                         snapshot_b: Snapshot) -> None:
    settings = settings_in(tmp_path)
    serve(settings, snapshot_a, 1)
    store.record(settings, snapshot_a, who="olivia")
    serve(settings, snapshot_b, 2)
    store.record(settings, snapshot_b, who="bob")
    entries = store.history(settings)
    assert [(e.version, e.who, e.action) for e in entries] == [
        (snapshot_b.version, "bob", "apply"), (snapshot_a.version, "olivia", "apply")]
    assert store.load_current(settings) == snapshot_b
    assert store.previous(settings) == snapshot_a
    path = settings.switch_dir / "snapshots" / f"{snapshot_a.version}.json"
    assert Snapshot.from_json(path.read_text()) == snapshot_a


def test_keeps_the_last_n_snapshots_and_the_serving_one(tmp_path: Path) -> None:
    settings = settings_in(tmp_path, kept=2)
    snaps = [make_snapshot("t1", channels=n) for n in range(4)]
    serve(settings, snaps[0], 1)
    for snap in snaps:
        store.record(settings, snap, who="olivia")
    kept = {p.stem for p in (settings.switch_dir / "snapshots").glob("*.json")}
    assert kept == {snaps[3].version, snaps[2].version, snaps[0].version}  # 0 serves
    assert len(store.history(settings)) == 4
    assert store.load(settings, snaps[1].version) is None
