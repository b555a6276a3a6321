"""A node's Kamailio table file (SQLite, read by db_sqlite): two generations side by side.

docs/design/switch-data.md is the contract. ``write_generation`` replaces one
generation's rows with a snapshot in one transaction (a failure leaves the file as it
was); the rows of the other generation are never touched. Tariff trees are shared by
both generations: written when first needed, deleted when neither generation uses them.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from ipaddress import ip_network
from pathlib import Path

import polars as pl

from orchestrator.compile.snapshot import Snapshot, TariffRef, TariffValue, group_key
from orchestrator.header_policy import DEFAULT_PASS, PAI_CODES, allowed_regex, names_of

GENERATIONS = (1, 2)
ID_OFFSET = 10**8            # dialplan dpid / dispatcher setid = g * 10^8 + id
MAX_SUBNETS = 256            # non-host address rows per generation (512 in Kamailio)
CHAR_LIST = "0123456789"     # mtree char_list: every prefix uses only these

SCHEMA_DIR = Path("/usr/share/kamailio/db_sqlite")
SCHEMAS = ("standard", "permissions", "dialplan", "dispatcher", "mtree")
HTABLES = ("ht_cfg", "ht_sw")

TariffRows = pl.DataFrame | Iterable[tuple[str, "str | TariffValue"]]
TariffSource = Callable[[TariffRef], TariffRows]

ORCH_TABLE = """CREATE TABLE IF NOT EXISTS orch_generation (
    gen INTEGER PRIMARY KEY, version TEXT, trees TEXT, written_at TEXT)"""


@dataclass(frozen=True)
class GenerationInfo:
    """The ``orch_generation`` row: which snapshot a generation holds."""

    gen: int
    version: str
    trees: tuple[str, ...]
    written_at: str


@dataclass
class WriteStats:
    gen: int
    rows: dict[str, int] = field(default_factory=dict)
    trees_written: list[str] = field(default_factory=list)
    trees_deleted: list[str] = field(default_factory=list)
    seconds: float = 0.0


def connect(path: Path) -> sqlite3.Connection:
    """Autocommit connection: transactions are opened explicitly (BEGIN IMMEDIATE)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def ensure_table_file(path: Path, schema_dir: Path = SCHEMA_DIR) -> None:
    """Create the tables Kamailio reads (from its own schema files) if missing.

    Idempotent. The file is switched to WAL, so Kamailio can read (reload, restart)
    while a generation is being written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    scripts = [(schema_dir / f"{name}-create.sql").read_text() for name in SCHEMAS]
    htable = (schema_dir / "htable-create.sql").read_text()
    scripts += [re.sub(r"\bhtable\b", name, htable) for name in HTABLES]
    with closing(connect(path)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        have = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        for script in scripts:
            tables = set(re.findall(r"CREATE TABLE (\w+)", script))
            if not tables <= have:
                conn.executescript(f"BEGIN; {script} COMMIT;")
        conn.execute(ORCH_TABLE)


def read_generation(path: Path, gen: int) -> GenerationInfo | None:
    """The snapshot version and tariff trees generation ``gen`` holds (None: never written)."""
    if not path.is_file():
        return None
    with closing(connect(path)) as conn:
        return _info(conn, gen)


def serving_generation(path: Path) -> int | None:
    """``gen`` of table ``ht_cfg``: what Kamailio serves after a restart."""
    if not path.is_file():
        return None
    with closing(connect(path)) as conn:
        row = conn.execute("SELECT key_value FROM ht_cfg WHERE key_name = 'gen'").fetchone()
    return int(row[0]) if row and str(row[0]).isdigit() else None


def set_serving_generation(path: Path, gen: int | None) -> None:
    """Write ``gen`` into ``ht_cfg`` (None removes it: nothing serves)."""
    with closing(connect(path)) as conn, _transaction(conn):
        conn.execute("DELETE FROM ht_cfg WHERE key_name = 'gen'")
        if gen is not None:
            conn.execute("INSERT INTO ht_cfg (key_name, key_type, value_type, key_value, "
                         "expires) VALUES ('gen', 0, 1, ?, 0)", (str(gen),))


def tree_counts(path: Path, trees: Iterable[str]) -> dict[str, int]:
    with closing(connect(path)) as conn:
        return {tree: conn.execute("SELECT count(*) FROM mtrees WHERE tname = ?",
                                   (tree,)).fetchone()[0] for tree in trees}


def write_generation(path: Path, snapshot: Snapshot, gen: int,
                     tariff_source: TariffSource) -> WriteStats:
    """Replace generation ``gen`` with ``snapshot``; one transaction."""
    if gen not in GENERATIONS:
        raise ValueError(f"generation must be 1 or 2, not {gen}")
    started = time.monotonic()
    stats = WriteStats(gen)
    rows: dict[str, Sequence[tuple[int | str, ...]]] = {
        "address": address_rows(snapshot, gen), "dialplan": dialplan_rows(snapshot, gen),
        "dispatcher": dispatcher_rows(snapshot, gen), "mtrees": ingress_rows(snapshot, gen),
        "ht_sw": sw_items(snapshot, gen)}
    refs = {ref.tree: ref for ref in snapshot.tariffs}
    for tree in refs:
        if not tree or re.fullmatch(r"ing\d+", tree):
            raise ValueError(f"tariff tree name {tree!r} is empty or reserved")
    ensure_table_file(path)
    with closing(connect(path)) as conn, _transaction(conn):
        _delete_generation(conn, gen)
        for table, values in rows.items():
            conn.executemany(INSERTS[table], values)
            stats.rows[table] = len(values)
        for tree, ref in refs.items():
            if conn.execute("SELECT 1 FROM mtrees WHERE tname = ? LIMIT 1",
                            (tree,)).fetchone() is None:
                conn.executemany(INSERTS["mtrees"], _tariff_tuples(tree, tariff_source(ref)))
                stats.trees_written.append(tree)
        other = _info(conn, 3 - gen)
        keep = set(refs) | set(other.trees if other else ()) | {f"ing{g}" for g in GENERATIONS}
        for tree in _tree_names(conn):
            if tree not in keep:
                conn.execute("DELETE FROM mtrees WHERE tname = ?", (tree,))
                stats.trees_deleted.append(tree)
        conn.execute("INSERT INTO orch_generation (gen, version, trees, written_at) "
                      "VALUES (?, ?, ?, ?)", (gen, snapshot.version, " ".join(sorted(refs)),
                                              datetime.now(UTC).isoformat(timespec="seconds")))
    stats.seconds = time.monotonic() - started
    return stats


INSERTS = {
    "address": "INSERT INTO address (grp, ip_addr, mask, port, tag) VALUES (?, ?, ?, ?, ?)",
    "dialplan": "INSERT INTO dialplan (dpid, pr, match_op, match_exp, match_len, subst_exp, "
                "repl_exp, attrs) VALUES (?, ?, 1, ?, 0, '', '', '')",
    "dispatcher": "INSERT INTO dispatcher (setid, destination, flags, priority, attrs, "
                  "description) VALUES (?, ?, 0, 0, ?, ?)",
    "mtrees": "INSERT INTO mtrees (tname, tprefix, tvalue) VALUES (?, ?, ?)",
    "ht_sw": "INSERT INTO ht_sw (key_name, key_type, value_type, key_value, expires) "
             "VALUES (?, 0, ?, ?, 0)",
}


def _delete_generation(conn: sqlite3.Connection, gen: int) -> None:
    low, high = id_range(gen)
    conn.execute("DELETE FROM address WHERE grp = ?", (gen,))
    conn.execute("DELETE FROM dialplan WHERE dpid BETWEEN ? AND ?", (low, high))
    conn.execute("DELETE FROM dispatcher WHERE setid BETWEEN ? AND ?", (low, high))
    conn.execute("DELETE FROM mtrees WHERE tname = ?", (f"ing{gen}",))
    # keys "<g>:..." sort between "<g>:" and "<g>;" (';' follows ':')
    conn.execute("DELETE FROM ht_sw WHERE key_name >= ? AND key_name < ?",
                 (f"{gen}:", f"{gen};"))
    conn.execute("DELETE FROM orch_generation WHERE gen = ?", (gen,))


def _info(conn: sqlite3.Connection, gen: int) -> GenerationInfo | None:
    row = conn.execute("SELECT gen, version, trees, written_at FROM orch_generation "
                       "WHERE gen = ?", (gen,)).fetchone()
    if row is None:
        return None
    return GenerationInfo(int(row[0]), str(row[1]), tuple(str(row[2] or "").split()),
                          str(row[3]))


def _tree_names(conn: sqlite3.Connection) -> list[str]:
    """Distinct tree names, one index seek each (no scan of millions of rows)."""
    names: list[str] = []
    row = conn.execute("SELECT min(tname) FROM mtrees").fetchone()
    while row is not None and row[0] is not None:
        names.append(row[0])
        row = conn.execute("SELECT min(tname) FROM mtrees WHERE tname > ?",
                           (row[0],)).fetchone()
    return names


def _tariff_tuples(tree: str, rows: TariffRows) -> Iterator[tuple[str, str, str]]:
    """(tree, prefix, packed value) of a tariff, in prefix order (the order of the
    mtrees unique index: 4x faster inserts than random order for 1M rows).

    ``rows``: a DataFrame with columns prefix, value (str or TariffValue), or pairs.
    """
    if not isinstance(rows, pl.DataFrame):
        pairs = [(str(p), _packed(v)) for p, v in rows]
        rows = pl.DataFrame(pairs, schema={"prefix": pl.Utf8, "value": pl.Utf8},
                            orient="row")
    prefixes = rows.get_column("prefix").cast(pl.Utf8)
    values = rows.get_column("value")
    if values.dtype == pl.Object:
        values = pl.Series([_packed(v) for v in values], dtype=pl.Utf8)
    if prefixes.null_count() or values.null_count():
        raise ValueError(f"tariff tree {tree}: null prefix or value")
    bad = prefixes.filter(~prefixes.str.contains(f"^[{CHAR_LIST}]+$"))
    if len(bad):
        raise ValueError(f"tariff tree {tree}: prefix {bad[0]!r} is not made of {CHAR_LIST}")
    if prefixes.is_duplicated().any():
        raise ValueError(f"tariff tree {tree}: duplicate prefixes")
    frame = pl.DataFrame({"prefix": prefixes, "value": values.cast(pl.Utf8)}).sort("prefix")
    for prefix, value in frame.iter_rows():
        yield tree, prefix, value


def _packed(value: object) -> str:
    return value.pack() if isinstance(value, TariffValue) else str(value)


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT, ROLLBACK on any exception."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        self.conn.execute("COMMIT" if kind is None else "ROLLBACK")


# --- rows of one generation (docs/design/switch-data.md) ----------------------------
Address = tuple[int, str, int, int, str]          # grp, ip_addr, mask, port, tag
HtRow = tuple[str, int, str]                      # key_name, value_type, key_value


def id_range(gen: int) -> tuple[int, int]:
    return gen * ID_OFFSET, (gen + 1) * ID_OFFSET - 1


def check_prefix(what: str, prefix: str) -> None:
    if not prefix or any(c not in CHAR_LIST for c in prefix):
        raise ValueError(f"{what}: prefix {prefix!r} is not made of {CHAR_LIST}")


def address_rows(snapshot: Snapshot, gen: int) -> list[Address]:
    """Host rows (hash table, last inserted checked first): any-port before port rows;
    subnet rows (checked in insertion order): longest mask first, port rows first."""
    hosts: list[Address] = []
    subnets: list[Address] = []
    for row in snapshot.addresses:
        net = ip_network(row.network, strict=False)
        item = (gen, str(net.network_address), net.prefixlen, row.port, group_key(row.group))
        (hosts if net.prefixlen == net.max_prefixlen else subnets).append(item)
    if len(subnets) > MAX_SUBNETS:
        raise ValueError(f"{len(subnets)} subnet address rows; at most {MAX_SUBNETS}")
    hosts.sort(key=lambda a: a[3] != 0)
    subnets.sort(key=lambda a: (-a[2], a[3] == 0))
    return hosts + subnets


def dialplan_rows(snapshot: Snapshot, gen: int) -> list[tuple[int, int, str]]:
    return [(gen * ID_OFFSET + r.route_id, r.position, r.pattern) for r in snapshot.dial_rules]


def percent_weights(weights: Sequence[tuple[int, int]]) -> dict[int, int]:
    """(key, weight) pairs of one dispatcher set -> key: its share in percent.

    dispatcher's ``weight`` attribute (algorithm 9) is a percentage of the set's calls,
    not a relative weight: slots of the 100 left unfilled go to the last destination,
    so raw weights 3 and 1 would give 3 % and 97 %.  Largest remainder: the percents
    sum to exactly 100 (ties go to the earlier key)."""
    total = sum(w for _, w in weights)
    if total <= 0:
        return {key: 0 for key, _ in weights}
    shares = {key: divmod(w * 100, total) for key, w in weights}
    left = 100 - sum(q for q, _ in shares.values())
    ranked = sorted(shares, key=lambda key: -shares[key][1])  # stable: earlier first
    return {key: q + int(key in ranked[:left]) for key, (q, _) in shares.items()}


def dispatcher_rows(snapshot: Snapshot, gen: int) -> list[tuple[int, str, str, str]]:
    by_carrier: dict[int, list[tuple[int, int]]] = {}
    for gw in snapshot.gateways:
        by_carrier.setdefault(gw.carrier_id, []).append((gw.id, gw.weight))
    percent: dict[int, int] = {}
    for weights in by_carrier.values():
        percent.update(percent_weights(weights))
    return [(gen * ID_OFFSET + gw.carrier_id, gw.uri, f"weight={percent[gw.id]}",
             f"gw{gw.id}") for gw in snapshot.gateways]


def ingress_rows(snapshot: Snapshot, gen: int) -> list[tuple[str, str, str]]:
    rows = []
    for row in snapshot.ingress:
        key = group_key(row.group, row.tech_prefix)
        check_prefix(f"ingress of group {row.group}", key)
        rows.append((f"ing{gen}", key, str(row.route_id)))
    return rows


def sw_items(snapshot: Snapshot, gen: int) -> list[HtRow]:
    """htable ``sw`` rows: ``<g>:`` keys, value_type 1 for int, 0 for str."""
    items: list[tuple[str, int | str]] = []

    def put(key: str, **values: int | str | bool) -> None:
        items.extend((f"{key}:{name}", value) for name, value in values.items())

    for u in snapshot.sip_users:
        put(f"u:{u.username}", ha1=u.ha1, cust=u.customer_id, grp=group_key(u.group),
            ch=u.channels,
            cps=u.cps)
        if u.allowed_ips:
            put(f"u:{u.username}", ips=",".join(u.allowed_ips))
    items.append(("nusers", len(snapshot.sip_users)))
    for c in snapshot.customers:
        put(f"c:{c.id}", st=c.state, ch=c.channels, cps=c.cps, credit=c.credit,
            pai=PAI_CODES[c.pai])
        if c.pass_headers != DEFAULT_PASS:
            put(f"c:{c.id}", hx=allowed_regex(names_of(c.pass_headers)))
        if c.money:
            put(f"c:{c.id}", money=c.money)
    available = {p.id for p in snapshot.provider_cards}
    parents: dict[int, set[int]] = {}
    for w in snapshot.weights:
        parents.setdefault(w.customer_card_id, set()).add(w.provider_card_id)
    for r in snapshot.routes:
        # fast: the switch may try the tariff's candidate list as it is
        fast = (r.strategy == "lcr" and not r.cards_mode and not r.profit_assurance
                and parents.get(r.customer_card_id, set()) <= available)
        put(f"r:{r.id}", fast=fast)
        put(f"r:{r.id}", cust=r.customer_id, ccard=r.customer_card_id,
            tpl=len(r.tech_prefix), dp=r.has_dial_string, ch=r.channels, cps=r.cps,
            maxdur=r.max_duration, ping=r.sip_ping, rtpto=r.rtp_timeout,
            pa=r.profit_assurance, strict=r.strict, media=r.media_set, tree=r.tree,
            strat=r.strategy)
        if r.cards_mode:
            put(f"r:{r.id}", cards=r.cards_mode)
            items.extend((f"r:{r.id}:card:{card}", 1) for card in r.cards)
    for k in snapshot.carriers:
        put(f"k:{k.id}", ch=k.channels, cps=k.cps, pre=k.pre_ring_ms, post=k.post_ring_ms,
            tpai=k.trust_pai)
        if k.pass_headers != DEFAULT_PASS:
            put(f"k:{k.id}", hx=allowed_regex(names_of(k.pass_headers)))
    for p in snapshot.provider_cards:
        items.append((f"p:{p.id}", p.carrier_id))
        if p.tech_prefix:
            put(f"p:{p.id}", tp=p.tech_prefix)
    items.extend((f"w:{w.customer_card_id}:{w.provider_card_id}", w.weight)
                 for w in snapshot.weights)
    items.extend((f"grp:{g.group}", ",".join(map(str, g.customer_ids)))
                 for g in snapshot.groups)
    rows = [(f"{gen}:{key}", 0 if isinstance(value, str) else 1, str(int(value))
             if not isinstance(value, str) else value) for key, value in items]
    keys = [row[0] for row in rows]
    if len(set(keys)) != len(keys):
        raise ValueError("htable sw: duplicate keys in the snapshot")
    return rows
