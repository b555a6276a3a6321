"""core.* RPCs: version, uptime, processes, shared memory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.kamailio._parse import as_dict, as_int, as_list, field
from orchestrator.kamailio.errors import KamailioProtocolError
from orchestrator.kamailio.rpc import KamailioRPC


@dataclass(frozen=True)
class Uptime:
    seconds: int       # "uptime"
    now: str           # "Wed Nov 25 21:06:52 2026"
    up_since: str


@dataclass(frozen=True)
class Process:
    pid: int
    description: str   # "udp receiver child=0 sock=127.0.0.1:5060"


@dataclass(frozen=True)
class ShmMem:
    total: int
    free: int
    used: int
    real_used: int
    max_used: int
    fragments: int


def version(rpc: KamailioRPC) -> str:
    """``core.version``: "kamailio 5.6.3 (x86_64/linux)" (trailing space stripped)."""
    result = rpc.call("core.version")
    if not isinstance(result, str):
        raise KamailioProtocolError(f"core.version: expected a string, got {result!r:.100}")
    return result.strip()


def uptime(rpc: KamailioRPC) -> Uptime:
    """``core.uptime``: seconds since Kamailio started."""
    data = as_dict("core.uptime", rpc.call("core.uptime"))
    return Uptime(seconds=as_int("core.uptime", field("core.uptime", data, "uptime"), "uptime"),
                  now=str(data.get("now", "")), up_since=str(data.get("up_since", "")))


def echo(rpc: KamailioRPC, *values: Any) -> list[Any]:
    """``core.echo``: the params back (Kamailio returns numbers as strings)."""
    return as_list("core.echo", rpc.call("core.echo", *values))


def ps(rpc: KamailioRPC) -> list[Process]:
    """``core.ps``: Kamailio answers a flat [pid, description, pid, ...] array."""
    flat = as_list("core.ps", rpc.call("core.ps"))
    if len(flat) % 2:
        raise KamailioProtocolError(f"core.ps: odd-length answer {flat!r:.200}")
    return [Process(as_int("core.ps", pid, "pid"), str(text))
            for pid, text in zip(flat[::2], flat[1::2], strict=True)]


def shmmem(rpc: KamailioRPC) -> ShmMem:
    """``core.shmmem``: shared memory in bytes."""
    data = as_dict("core.shmmem", rpc.call("core.shmmem"))
    values = {name: _unsigned(as_int("core.shmmem", field("core.shmmem", data, name), name))
              for name in ("total", "free", "used", "real_used", "max_used", "fragments")}
    return ShmMem(**values)


def _unsigned(value: int) -> int:
    """Kamailio 5.6 answers sizes as 32-bit signed integers: above 2 GiB they come
    back negative (``-m 3072`` reports a total of -1073741824)."""
    return value + 2**32 if value < 0 else value
