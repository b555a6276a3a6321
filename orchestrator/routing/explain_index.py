"""The lookup structures of ``explain``: built once per snapshot, and the tariff trees.

``SnapshotIndex.of(snapshot)`` turns the snapshot's rows into dicts (and compiled dial
string patterns) so that one explain costs a few dict lookups; it is cached by
snapshot version. Tariff rows are not in the snapshot: a ``TariffSource`` gives the
rows of one tariff tree (prefix -> ``TariffValue.pack()``). ``SqliteTariffSource``
reads them from a node's Kamailio table file (table ``mtrees``) and keeps the last few
trees in memory; tree names are content-derived, so a cached tree never goes stale.

``current_index`` and ``tariffs_of`` give the local node's serving snapshot (its
version looked up in the table file only when the file changed) and tariff trees.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network
from pathlib import Path

from orchestrator.compile.snapshot import (
    AddressRow,
    CarrierRow,
    CustomerRow,
    GroupRow,
    ProviderCardRow,
    RouteRow,
    SipUserRow,
    Snapshot,
    TariffRef,
    group_key,
)
from orchestrator.errors import Conflict
from orchestrator.settings import Settings
from orchestrator.switch import store

# tree name -> {prefix: packed TariffValue}
TariffSource = Callable[[str], Mapping[str, str]]
TariffTrees = Mapping[str, Mapping[str, str]] | TariffSource

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

NOTHING_APPLIED = "nothing has been applied to the switch yet: apply first"
INDEXES_KEPT = 4


def tariff_source(trees: TariffTrees) -> TariffSource:
    """A TariffSource from a callable or a plain mapping of tree name -> rows."""
    if callable(trees):
        return trees
    empty: Mapping[str, str] = {}
    return lambda tree: trees.get(tree, empty)


@dataclass(frozen=True)
class DialPattern:
    position: int
    pattern: str
    regex: re.Pattern[str] | None  # None: Python cannot compile it


@dataclass(frozen=True)
class SubnetRow:
    network: IPNetwork
    row: AddressRow


def _is_host(network: IPNetwork) -> bool:
    return network.prefixlen == network.max_prefixlen


def _compile(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


@dataclass(frozen=True)
class SnapshotIndex:
    """The rows of one snapshot, keyed the way the switch looks them up."""

    version: str
    hosts: Mapping[tuple[IPAddress, int], AddressRow]  # (address, port 0 = any)
    subnets: tuple[SubnetRow, ...]  # longest mask first, port rows before any-port
    sip_users: Mapping[str, SipUserRow]
    user_networks: Mapping[str, tuple[IPNetwork, ...]]
    groups: Mapping[int, GroupRow]
    customers: Mapping[int, CustomerRow]
    ingress: Mapping[str, int]  # group_key(group, tech prefix) -> route id
    routes: Mapping[int, RouteRow]
    dial: Mapping[int, tuple[DialPattern, ...]]  # route id -> patterns by position
    carriers: Mapping[int, CarrierRow]
    provider_cards: Mapping[int, ProviderCardRow]
    weights: Mapping[tuple[int, int], int]  # (customer card, provider card) -> weight
    tariffs: Mapping[int, TariffRef]  # customer card id -> tariff
    zones: Mapping[int, str]  # rtpengine set id -> media zone name

    @classmethod
    def of(cls, snap: Snapshot, version: str | None = None) -> SnapshotIndex:
        hosts: dict[tuple[IPAddress, int], AddressRow] = {}
        subnets: list[SubnetRow] = []
        for row in snap.addresses:
            network = ip_network(row.network, strict=False)
            if _is_host(network):
                hosts.setdefault((network.network_address, row.port), row)
            else:
                subnets.append(SubnetRow(network, row))
        subnets.sort(key=lambda s: (-s.network.prefixlen, s.row.port == 0))
        dial: dict[int, list[DialPattern]] = {}
        for rule in sorted(snap.dial_rules, key=lambda r: (r.route_id, r.position)):
            dial.setdefault(rule.route_id, []).append(
                DialPattern(rule.position, rule.pattern, _compile(rule.pattern)))
        return cls(
            version=version or snap.version,
            hosts=hosts,
            subnets=tuple(subnets),
            sip_users={u.username: u for u in snap.sip_users},
            user_networks={u.username: tuple(ip_network(n, strict=False)
                                             for n in u.allowed_ips)
                           for u in snap.sip_users},
            groups={g.group: g for g in snap.groups},
            customers={c.id: c for c in snap.customers},
            ingress={group_key(r.group, r.tech_prefix): r.route_id for r in snap.ingress},
            routes={r.id: r for r in snap.routes},
            dial={k: tuple(v) for k, v in dial.items()},
            carriers={c.id: c for c in snap.carriers},
            provider_cards={p.id: p for p in snap.provider_cards},
            weights={(w.customer_card_id, w.provider_card_id): w.weight
                     for w in snap.weights},
            tariffs={t.customer_card_id: t for t in snap.tariffs},
            zones={z.set_id: z.name for z in snap.media_zones},
        )

    def match_address(self, source: IPAddress, port: int) -> AddressRow | None:
        """The address row Kamailio's permissions module matches first: host rows (a
        row with the source's port before an any-port row), then subnet rows."""
        found = self.hosts.get((source, port)) or self.hosts.get((source, 0))
        if found is not None:
            return found
        for subnet in self.subnets:
            if subnet.row.port in (0, port) and source in subnet.network:
                return subnet.row
        return None


_indexes: OrderedDict[str, SnapshotIndex] = OrderedDict()
_indexes_lock = threading.Lock()


def cached_index(version: str) -> SnapshotIndex | None:
    """The index built for this snapshot version, if it is still cached."""
    with _indexes_lock:
        found = _indexes.get(version)
        if found is not None:
            _indexes.move_to_end(version)
        return found


def index_of(snap: Snapshot) -> SnapshotIndex:
    """The index of a snapshot, built once per version (the last few are kept)."""
    key = snap.version
    found = cached_index(key)
    if found is not None:
        return found
    built = SnapshotIndex.of(snap, key)
    with _indexes_lock:
        _indexes[key] = built
        while len(_indexes) > INDEXES_KEPT:
            _indexes.popitem(last=False)
    return built


class SqliteTree(Mapping[str, str]):
    """One tariff tree of a table file, read on demand: ``get(prefix)`` is one indexed
    query (Kamailio's unique index on tname, tprefix, tvalue), so explaining a call
    on a million-prefix tariff costs a few lookups and no memory."""

    def __init__(self, source: SqliteTariffSource, tree: str) -> None:
        self.source = source
        self.tree = tree

    def __getitem__(self, prefix: str) -> str:
        row = self.source.query("SELECT tvalue FROM mtrees WHERE tname=? AND tprefix=? "
                                "LIMIT 1", (self.tree, prefix))
        if row is None:
            raise KeyError(prefix)
        return str(row[0])

    def __bool__(self) -> bool:
        return self.source.query("SELECT 1 FROM mtrees WHERE tname=? LIMIT 1",
                                 (self.tree,)) is not None

    def __len__(self) -> int:
        row = self.source.query("SELECT COUNT(*) FROM mtrees WHERE tname=?", (self.tree,))
        return int(str(row[0])) if row else 0

    def __iter__(self) -> Iterator[str]:
        return iter([str(p) for (p,) in self.source.rows(
            "SELECT tprefix FROM mtrees WHERE tname=? ORDER BY tprefix", (self.tree,))])


class SqliteTariffSource:
    """Tariff trees of a Kamailio table file, looked up in place (one read-only
    connection per thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def __call__(self, tree: str) -> Mapping[str, str]:
        return SqliteTree(self, tree)

    def _connection(self) -> sqlite3.Connection | None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None and self.path.is_file():
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30.0,
                                   check_same_thread=True)
            self._local.conn = conn
        return conn

    def rows(self, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        conn = self._connection()
        if conn is None:
            return []
        try:
            return list(conn.execute(sql, params))
        except sqlite3.OperationalError:  # no mtrees table yet
            return []

    def query(self, sql: str, params: tuple[object, ...]) -> tuple[object, ...] | None:
        found = self.rows(sql, params)
        return found[0] if found else None


_sources: dict[Path, SqliteTariffSource] = {}
_sources_lock = threading.Lock()


def sqlite_source(path: Path) -> SqliteTariffSource:
    """The process's tariff source of one table file (its cache lives as long)."""
    with _sources_lock:
        if path not in _sources:
            _sources[path] = SqliteTariffSource(path)
        return _sources[path]


# --- the serving snapshot of the local node ---------------------------------------

_versions: dict[Path, tuple[tuple[int, ...], str | None]] = {}


def _stamp(path: Path) -> tuple[int, ...]:
    """Changes whenever the table file does: every commit touches it or its WAL."""
    stamp: list[int] = []
    for part in (path, path.with_name(path.name + "-wal")):
        try:
            info = part.stat()
        except FileNotFoundError:
            stamp += [0, 0, 0]
        else:
            stamp += [info.st_ino, info.st_size, info.st_mtime_ns]
    return tuple(stamp)


def serving_version(settings: Settings) -> str | None:
    """Version of the snapshot the local node serves; read from the table file again
    only when the file has changed (two stat calls otherwise)."""
    path = settings.switch_db
    stamp = _stamp(path)  # before reading: a write in between only costs a re-read
    known = _versions.get(path)
    if known is not None and known[0] == stamp:
        return known[1]
    version = store.current_version(settings)
    _versions[path] = (stamp, version)
    return version


def load_snapshot(settings: Settings) -> Snapshot | None:
    """The snapshot the switch serves (None before the first apply)."""
    return store.load_current(settings)


def current_index(settings: Settings) -> SnapshotIndex:
    """The index of the serving snapshot: read and built once per version."""
    version = serving_version(settings)
    found = cached_index(version) if version else None
    if found is not None:
        return found
    snap = load_snapshot(settings)
    if snap is None:
        raise Conflict("switch", NOTHING_APPLIED)
    return index_of(snap)


def tariffs_of(settings: Settings) -> TariffSource:
    """The tariff trees of the local node's table file (cached per process)."""
    return sqlite_source(settings.switch_db)
