"""permissions.* RPCs: the address table (IP authentication).

``permissions.addressReload`` is refused while a reload runs or within
``reload_delta`` with fault 500 "ongoing reload": the RPC layer waits and retries.
"""

from __future__ import annotations

from typing import Any

from orchestrator.kamailio._parse import as_dict, as_list
from orchestrator.kamailio.rpc import KamailioRPC


def address_reload(rpc: KamailioRPC) -> str:
    """``permissions.addressReload``: "Reload OK"."""
    return str(rpc.call("permissions.addressReload"))


def address_dump(rpc: KamailioRPC) -> list[dict[str, Any]]:
    """``permissions.addressDump``: single addresses, ``{"group", "item": {ip, port, tag}}``."""
    return [as_dict("permissions.addressDump", entry)
            for entry in as_list("permissions.addressDump",
                                 rpc.call("permissions.addressDump"))]


def subnet_dump(rpc: KamailioRPC) -> list[dict[str, Any]]:
    """``permissions.subnetDump``: subnets, ``{"group", "item": {ip, mask, port, tag}}``."""
    return [as_dict("permissions.subnetDump", entry)
            for entry in as_list("permissions.subnetDump",
                                 rpc.call("permissions.subnetDump"))]
