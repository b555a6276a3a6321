"""mtree.* RPCs: longest-prefix trees (loaded from the database only)."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.kamailio._parse import as_dict, as_int, as_list, field
from orchestrator.kamailio.errors import KamailioFault
from orchestrator.kamailio.rpc import KamailioRPC


@dataclass(frozen=True)
class TreeSummary:
    name: str
    type: int           # 0 string values, 1 dstid:weight lists, 2 integers
    memsize: int
    nrnodes: int
    nritems: int
    reload_count: int
    reload_time: int    # unix time of the last load


@dataclass(frozen=True)
class Match:
    prefix: str
    value: str


def reload(rpc: KamailioRPC, tree: str | None = None) -> None:
    """``mtree.reload [tree]``: every tree, or one (ignored when db_table holds many)."""
    if tree is None:
        rpc.call("mtree.reload")
    else:
        rpc.call("mtree.reload", tree)


def match(rpc: KamailioRPC, tree: str, number: str) -> Match | None:
    """``mtree.match <tree> <number> 0``: the longest-prefix value, None if none.

    Kamailio 5.6 quirk (seen): PREFIX can be longer than the prefix that matched when
    the number continues along a longer branch ("4412" in a tree of 44 and 4420
    reports "441"); the value is right. Mode 2 is not offered: over JSON-RPC Kamailio
    returns only its last entry. Prefixes go as JSON strings.
    """
    try:
        data = as_dict("mtree.match", rpc.call("mtree.match", tree, str(number), 0))
    except KamailioFault as fault:
        if fault.code == 404 and fault.message == "Prefix not found":
            return None
        raise
    return Match(prefix=str(field("mtree.match", data, "PREFIX")),
                 value=str(field("mtree.match", data, "TVALUE")))


def summary(rpc: KamailioRPC, tree: str | None = None) -> list[TreeSummary]:
    """``mtree.summary [tree]``: size and reload count of each loaded tree."""
    result = rpc.call("mtree.summary") if tree is None else rpc.call("mtree.summary", tree)
    trees = []
    for entry in as_list("mtree.summary", result):
        data = as_dict("mtree.summary", entry)
        item = as_dict("mtree.summary", field("mtree.summary", data, "item"))
        numbers = {key: as_int("mtree.summary", field("mtree.summary", item, key), key)
                   for key in ("ttype", "memsize", "nrnodes", "nritems", "reload_count",
                               "reload_time")}
        trees.append(TreeSummary(
            name=str(field("mtree.summary", data, "table")), type=numbers["ttype"],
            memsize=numbers["memsize"], nrnodes=numbers["nrnodes"],
            nritems=numbers["nritems"], reload_count=numbers["reload_count"],
            reload_time=numbers["reload_time"]))
    return trees
