"""dispatcher.* RPCs: carrier gateway sets.

Kamailio refuses ``dispatcher.reload`` within ``reload_delta`` seconds (default 5) of
the previous one with fault 500 "Ongoing reload": the RPC layer waits and retries.
"""

from __future__ import annotations

from typing import Any

from orchestrator.kamailio._parse import as_dict
from orchestrator.kamailio.rpc import KamailioRPC

STATES = ("a", "i", "d", "p", "t")  # active, inactive, disabled, probing, trying


def reload(rpc: KamailioRPC) -> str:
    """``dispatcher.reload``: "Ok. Dispatcher successfully reloaded."."""
    return str(rpc.call("dispatcher.reload"))


def list_sets(rpc: KamailioRPC) -> dict[str, Any]:
    """``dispatcher.list``: ``{"NRSETS": n, "RECORDS": [{"SET": {"ID", "TARGETS"}}]}``."""
    return as_dict("dispatcher.list", rpc.call("dispatcher.list"))


def destinations(rpc: KamailioRPC) -> dict[int, dict[str, str]]:
    """``{set id: {destination URI: flags}}`` from ``dispatcher.list`` ("AX" = active)."""
    sets: dict[int, dict[str, str]] = {}
    for record in list_sets(rpc).get("RECORDS") or []:
        group = record.get("SET", {}) if isinstance(record, dict) else {}
        targets = sets.setdefault(int(group.get("ID", 0)), {})
        for target in group.get("TARGETS") or []:
            dest = target.get("DEST", {}) if isinstance(target, dict) else {}
            targets[str(dest.get("URI", ""))] = str(dest.get("FLAGS", ""))
    return sets


def set_state(rpc: KamailioRPC, state: str, group: int, address: str) -> None:
    """``dispatcher.set_state <state> <group> <address>``; address "all" for the set.

    state: "a" active, "i" inactive, "d" disabled, "p" probing (may combine, "ip").
    """
    rpc.call("dispatcher.set_state", state, group, address)
