"""dialplan.* RPCs: dial string translation rules.

``dialplan.reload`` is refused within ``reload_delta`` (default 5 s) with fault 500
"ongoing reload": the RPC layer waits and retries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.kamailio._parse import as_dict, field
from orchestrator.kamailio.errors import KamailioFault
from orchestrator.kamailio.rpc import KamailioRPC


@dataclass(frozen=True)
class Translation:
    output: str
    attributes: str


def reload(rpc: KamailioRPC) -> None:
    """``dialplan.reload``: reload every rule set from the database."""
    rpc.call("dialplan.reload")


def translate(rpc: KamailioRPC, dpid: int, value: str) -> Translation | None:
    """``dialplan.translate <dpid> <value>``; None when no rule matches."""
    try:
        data = as_dict("dialplan.translate", rpc.call("dialplan.translate", dpid, value))
    except KamailioFault as fault:
        if fault.message == "No translation":
            return None
        raise
    return Translation(output=str(field("dialplan.translate", data, "Output")),
                       attributes=str(data.get("Attributes", "")))


def dump(rpc: KamailioRPC, dpid: int) -> list[dict[str, Any]]:
    """``dialplan.dump <dpid>``: the rules of a set (PRIO, MATCHOP, MATCHEXP, ...)."""
    data = as_dict("dialplan.dump", rpc.call("dialplan.dump", dpid))
    return [as_dict("dialplan.dump", entry.get("ENTRY"))
            for entry in data.get("ENTRIES") or [] if isinstance(entry, dict)]
