"""A switch node and the JSON-RPC side of an apply: reload, verify the loaded counts, flip.

A node is a Kamailio (its JSON-RPC URL) and the table file it reads. The local node
comes from the settings; remote nodes (their table file pushed before the reloads)
come later from an inventory.
"""

from __future__ import annotations

import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from orchestrator.kamailio import (
    KamailioRPC,
    dialplan,
    dispatcher,
    htable,
    mtree,
    permissions,
)
from orchestrator.kamailio._parse import as_dict, as_int, as_list
from orchestrator.settings import Settings
from orchestrator.switch import tablefile
from orchestrator.switch.tablefile import ID_OFFSET, connect

RELOAD_TIMEOUT = 600.0   # mtree.reload of millions of prefixes takes seconds to minutes
QUERY_TIMEOUT = 10.0
# db_sqlite cannot fetch in chunks: mtree.reload holds the whole mtrees table in the
# private memory (-M) of the process serving the RPC. Bytes per row besides its text,
# with a margin (Kamailio 5.6.3, 1M rows of ~88 characters: -M 400 fails, 448 loads).
PKG_ROW_BYTES = 400


class VerifyError(RuntimeError):
    """Kamailio did not load what the table file holds."""


class PreflightError(RuntimeError):
    """A reload would need more memory than Kamailio has: refused before reloading."""


@dataclass(frozen=True)
class SwitchNode:
    name: str
    rpc_url: str
    table_file: Path

    def rpc(self, timeout: float = QUERY_TIMEOUT) -> KamailioRPC:
        # reload_delta refusals ("ongoing reload") are retried for up to ~12 s
        return KamailioRPC(self.rpc_url, timeout=timeout, reload_retries=24,
                           reload_retry_delay=0.5)


def local_node(settings: Settings) -> SwitchNode:
    return SwitchNode("local", settings.rpc_url, settings.switch_db)


def reload_all(node: SwitchNode) -> dict[str, float]:
    """Reload every module from the table file, in the safe order; seconds per module."""
    rpc = node.rpc(RELOAD_TIMEOUT)
    steps = (("permissions", lambda: permissions.address_reload(rpc)),
             ("htable", lambda: htable.reload(rpc, "sw")),
             ("dialplan", lambda: dialplan.reload(rpc)),
             ("dispatcher", lambda: dispatcher.reload(rpc)),
             ("mtree", lambda: mtree.reload(rpc)))
    timings: dict[str, float] = {}
    for name, step in steps:
        started = time.monotonic()
        step()
        timings[name] = time.monotonic() - started
    return timings


def preflight(node: SwitchNode) -> None:
    """Refuse to reload when the RPC process's private memory cannot hold the mtrees
    query result: Kamailio 5.6 with too little -M aborts (the whole switch stops)."""
    with closing(connect(node.table_file)) as conn:
        rows, chars = conn.execute(
            "SELECT count(*), coalesce(sum(length(tname) + length(tprefix) + "
            "length(tvalue)), 0) FROM mtrees").fetchone()
    need = rows * PKG_ROW_BYTES + chars
    procs = [as_dict("pkg.stats", p) for p in as_list("pkg.stats", node.rpc().call("pkg.stats"))]
    receivers = [p for p in procs if "tcp receiver" in str(p.get("desc"))] or procs
    free = min(as_int("pkg.stats", p.get("free"), "free") for p in receivers)
    if need > free:
        raise PreflightError(
            f"mtree.reload of {rows} rows needs about {need >> 20} MB of Kamailio private "
            f"memory, the RPC processes have {free >> 20} MB free: start Kamailio with a "
            f"larger -M (kamailio_pkg_mb)")


def kamailio_generation(node: SwitchNode) -> int | None:
    """``$sht(cfg=>gen)`` in Kamailio's memory: the generation new calls use."""
    value = htable.get(node.rpc(), "cfg", "gen")
    return value if isinstance(value, int) and value in tablefile.GENERATIONS else None


def verify(node: SwitchNode, gen: int) -> None:
    """Kamailio's loaded data of generation ``gen`` matches the table file's rows.

    Checks: every tree of ``gen`` (ing<g> and its tariff trees) has the file's row
    count in mtree.summary; htable sw holds as many items as the file (both
    generations) and the first and last key of ``gen`` with their values; dispatcher
    sets and targets, and permissions rows of ``gen``.
    """
    expected = _expected(node.table_file, gen)
    rpc = node.rpc()
    loaded = {t.name: t.nritems for t in mtree.summary(rpc)}
    for tree, count in expected.trees.items():
        if loaded.get(tree, 0) != count:
            raise VerifyError(f"mtree {tree}: {loaded.get(tree, 0)} items loaded, "
                              f"{count} in the table file")
    stats = {str(as_dict("htable.stats", s).get("name")): as_dict("htable.stats", s)
             for s in as_list("htable.stats", rpc.call("htable.stats"))}
    items = as_int("htable.stats", stats.get("sw", {}).get("all"), "all")
    if items != expected.ht_rows:
        raise VerifyError(f"htable sw: {items} items loaded, {expected.ht_rows} in the file")
    for key, value in expected.ht_samples:
        got = htable.get(rpc, "sw", key)
        if got is None or str(got) != value:
            raise VerifyError(f"htable sw {key}: {got!r} loaded, {value!r} in the file")
    low, high = gen * ID_OFFSET, (gen + 1) * ID_OFFSET
    sets = {k: len(v) for k, v in dispatcher.destinations(rpc).items() if low <= k < high}
    if sets != expected.sets:
        raise VerifyError(f"dispatcher sets of generation {gen}: {len(sets)} loaded, "
                          f"{len(expected.sets)} in the file")
    addresses = sum(e.get("group") == gen for e in permissions.address_dump(rpc))
    addresses += sum(e.get("group") == gen for e in permissions.subnet_dump(rpc))
    if addresses != expected.addresses:
        raise VerifyError(f"permissions group {gen}: {addresses} addresses loaded, "
                          f"{expected.addresses} in the file")


def flip(node: SwitchNode, gen: int) -> None:
    """New calls use ``gen``: ``ht_cfg`` first (restarts come back on it), then seti.

    If Kamailio does not take it, the file is put back as it was.
    """
    before = tablefile.serving_generation(node.table_file)
    tablefile.set_serving_generation(node.table_file, gen)
    try:
        htable.seti(node.rpc(), "cfg", "gen", gen)
    except Exception:
        try:
            took = kamailio_generation(node) == gen
        except Exception:
            took = False
        if not took:
            tablefile.set_serving_generation(node.table_file, before)
            raise


@dataclass(frozen=True)
class _Expected:
    trees: dict[str, int]
    ht_rows: int
    ht_samples: list[tuple[str, str]]
    sets: dict[int, int]
    addresses: int


def _expected(path: Path, gen: int) -> _Expected:
    info = tablefile.read_generation(path, gen)
    if info is None:
        raise VerifyError(f"generation {gen} was never written to {path}")
    trees = tablefile.tree_counts(path, (f"ing{gen}", *info.trees))
    with closing(connect(path)) as conn:
        ht_rows = conn.execute("SELECT count(*) FROM ht_sw").fetchone()[0]
        samples = conn.execute(
            "SELECT key_name, key_value FROM ht_sw WHERE key_name = (SELECT min(key_name) "
            "FROM ht_sw WHERE key_name >= :lo AND key_name < :hi) OR key_name = (SELECT "
            "max(key_name) FROM ht_sw WHERE key_name >= :lo AND key_name < :hi)",
            {"lo": f"{gen}:", "hi": f"{gen};"}).fetchall()
        sets = dict(conn.execute(
            "SELECT setid, count(*) FROM dispatcher WHERE setid BETWEEN ? AND ? "
            "GROUP BY setid", (gen * ID_OFFSET, (gen + 1) * ID_OFFSET - 1)).fetchall())
        addresses = conn.execute("SELECT count(*) FROM address WHERE grp = ?",
                                 (gen,)).fetchone()[0]
    return _Expected(trees, ht_rows, [(str(k), str(v)) for k, v in samples], sets, addresses)
