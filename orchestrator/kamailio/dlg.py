"""dlg.* RPCs (dialog module): the calls Kamailio is tracking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.kamailio._parse import as_dict, as_int, as_list, field
from orchestrator.kamailio.rpc import KamailioRPC


@dataclass(frozen=True)
class ActiveDialogs:
    """``dlg.stats_active``: dialogs by state, counted by scanning the dialog table."""

    starting: int      # INVITE seen, no reply yet
    connecting: int    # early (provisional reply)
    answering: int     # 200 OK sent, ACK not yet seen
    ongoing: int       # confirmed
    all: int           # every active dialog


def list_dialogs(rpc: KamailioRPC) -> list[dict[str, Any]]:
    """``dlg.list``: every dialog in memory (h_entry, h_id, call-id, caller, callee ...)."""
    return [as_dict("dlg.list", d) for d in as_list("dlg.list", rpc.call("dlg.list"))]


def stats_active(rpc: KamailioRPC) -> ActiveDialogs:
    """``dlg.stats_active``."""
    data = as_dict("dlg.stats_active", rpc.call("dlg.stats_active"))
    if "active" in data and isinstance(data["active"], dict):  # newer Kamailio nests it
        data = data["active"]
    counts = {name: as_int("dlg.stats_active", field("dlg.stats_active", data, name), name)
              for name in ("starting", "connecting", "answering", "ongoing", "all")}
    return ActiveDialogs(**counts)


def active_count(rpc: KamailioRPC) -> int:
    """Active dialogs in any state (ringing or answered): ``stats_active().all``."""
    return stats_active(rpc).all


def terminate_dlg(rpc: KamailioRPC, callid: str, from_tag: str, to_tag: str) -> None:
    """``dlg.terminate_dlg <callid> <from_tag> <to_tag>``: BYE to both sides.

    Fault 500 "Couldnt find callid in dialog" when no such dialog exists.
    """
    rpc.call("dlg.terminate_dlg", callid, from_tag, to_tag)


def end_dlg(rpc: KamailioRPC, h_entry: int, h_id: int,
            extra_headers: str | None = None) -> None:
    """``dlg.end_dlg <h_entry> <h_id> [extra headers]``: BYE to both sides.

    Fault 404 "Dialog not found" when no such dialog exists.
    """
    if extra_headers is None:
        rpc.call("dlg.end_dlg", h_entry, h_id)
    else:
        rpc.call("dlg.end_dlg", h_entry, h_id, extra_headers)
