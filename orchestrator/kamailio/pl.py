"""pl.* RPCs (pipelimit): rate limit pipes.

Kamailio 5.6 prints pipes as text lines ("PIPE: id=p1 algorithm=TAILDROP limit=10
counter=0"); they are parsed into dataclasses here. ``pl.set_pipe`` changes an
existing pipe only (fault 400 "Unknown pipe id ..." otherwise): pipes come from the
database or from ``pl_check(name, algorithm, limit)`` in the config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from orchestrator.kamailio._parse import as_list
from orchestrator.kamailio.errors import KamailioProtocolError
from orchestrator.kamailio.rpc import KamailioRPC

_FIELD = re.compile(r"(\w+)=(\S*)")


@dataclass(frozen=True)
class PipeStats:
    id: str
    load: int
    counter: int


@dataclass(frozen=True)
class Pipe:
    id: str
    algorithm: str
    limit: int
    counter: int


def _fields(method: str, line: object, names: tuple[str, ...]) -> dict[str, str]:
    text = str(line)
    values = dict(_FIELD.findall(text)) if text.startswith("PIPE:") else {}
    if any(name not in values for name in names):
        raise KamailioProtocolError(f"{method}: unexpected line {text!r:.100}")
    try:
        for name in names[1:]:
            if name != "algorithm":
                int(values[name])
    except ValueError:
        raise KamailioProtocolError(f"{method}: unexpected line {text!r:.100}") from None
    return values


def stats(rpc: KamailioRPC) -> list[PipeStats]:
    """``pl.stats``: load and counter of every pipe."""
    result = []
    for line in as_list("pl.stats", rpc.call("pl.stats")):
        v = _fields("pl.stats", line, ("id", "load", "counter"))
        result.append(PipeStats(v["id"], int(v["load"]), int(v["counter"])))
    return result


def get_pipes(rpc: KamailioRPC) -> list[Pipe]:
    """``pl.get_pipes``: algorithm, limit and counter of every pipe."""
    result = []
    for line in as_list("pl.get_pipes", rpc.call("pl.get_pipes")):
        v = _fields("pl.get_pipes", line, ("id", "algorithm", "limit", "counter"))
        result.append(Pipe(v["id"], v["algorithm"], int(v["limit"]), int(v["counter"])))
    return result


def set_pipe(rpc: KamailioRPC, pipe_id: str, algorithm: str, limit: int) -> None:
    """``pl.set_pipe <pipe_id> <algorithm> <limit>``, e.g. ("cust-7", "TAILDROP", 10)."""
    rpc.call("pl.set_pipe", pipe_id, algorithm, limit)
