"""stats.* RPCs (kex module): Kamailio's counters."""

from __future__ import annotations

import re

from orchestrator.kamailio._parse import as_list
from orchestrator.kamailio.errors import KamailioProtocolError
from orchestrator.kamailio.rpc import KamailioRPC

_LINE = re.compile(r"^\s*(?P<name>[^=\s]+)\s*=\s*(?P<value>-?\d+)\s*$")


def get_statistics(rpc: KamailioRPC, group_or_name: str = "all",
                   *more: str) -> dict[str, int]:
    """``stats.get_statistics``: "all", a group ("dialog:") or names ("active_dialogs").

    Kamailio answers lines "dialog:active_dialogs = 3"; returned as
    ``{"dialog:active_dialogs": 3}``. An unknown name gives an empty dict.
    """
    lines = as_list("stats.get_statistics",
                    rpc.call("stats.get_statistics", group_or_name, *more))
    return parse_statistics(lines)


def parse_statistics(lines: list[object]) -> dict[str, int]:
    values: dict[str, int] = {}
    for line in lines:
        match = _LINE.match(str(line))
        if match is None:
            raise KamailioProtocolError(f"stats.get_statistics: unexpected line {line!r:.100}")
        values[match["name"]] = int(match["value"])
    return values
