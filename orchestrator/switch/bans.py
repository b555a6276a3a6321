"""Flood bans of the switch nodes: list them and lift them (docs/abuse.md).

Each Kamailio keeps its own bans in the memory-only htable ``ban`` written by
route[ABUSE] (templates/kamailio/abuse.cfg.j2): key = the banned source address as
Kamailio prints it, value = the unix time the ban ends. The entry expires by itself
``ban_seconds`` after it was set; Kamailio's expiry timer only removes it from the
table later, so ``htable.dump`` may still show a ban that has ended: such entries are
left out here.

The web admin, the REST API and the CLI call ``list_bans`` and ``lift``; both go to
every node an apply goes to (the local node first, then the enabled inventory).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.errors import NotFound, ServiceError
from orchestrator.kamailio import KamailioError, KamailioFault, htable
from orchestrator.settings import Settings
from orchestrator.switch import inventory
from orchestrator.switch.nodes import SwitchNode

TABLE = "ban"
RPC_TIMEOUT = 5.0
OBJECT_TYPE = "ban"
MAX_ADDRESS_LENGTH = 64

IPAddress = IPv4Address | IPv6Address


class BadAddress(ServiceError):
    """What was given is not an IP address (REST 400)."""

    def __init__(self, text: str) -> None:
        super().__init__(f"{text[:MAX_ADDRESS_LENGTH]!r} is not an IP address: give one "
                         "like 203.0.113.7 or 2001:db8::7, as the list of bans shows it")
        self.text = text


class NodesUnreachable(ServiceError):
    """No node that could be asked holds the ban and some could not be asked (REST 503)."""

    def __init__(self, ip: str, failures: list[dict[str, str]]) -> None:
        where = "; ".join(f"{f['node']}: {f['error']}" for f in failures)
        super().__init__(f"{ip} is not banned on the nodes that answered, and these could "
                         f"not be asked: {where}. Start Kamailio (`orchestrator stack up`) "
                         "or check the node's rpc_url, then try again")
        self.ip = ip
        self.failures = failures


@dataclass(frozen=True)
class Ban:
    """One banned source address on one node."""

    ip: str        # as Kamailio prints it (the htable key)
    node: str
    until: int     # unix time the ban ends

    def remaining(self, now: float) -> int:
        """Whole seconds left (at least 1 while the ban holds)."""
        return max(1, int(self.until - now + 0.999))

    def to_dict(self, now: float) -> dict[str, Any]:
        return {"ip": self.ip, "node": self.node,
                "expires_at": datetime.fromtimestamp(self.until, UTC).isoformat(
                    timespec="seconds").replace("+00:00", "Z"),
                "remaining_seconds": self.remaining(now)}


def parse_address(text: str) -> IPAddress:
    """An IPv4 or IPv6 address (surrounding blanks and IPv6 brackets allowed)."""
    cleaned = text.strip()
    if cleaned.startswith("[") and cleaned.endswith("]"):
        cleaned = cleaned[1:-1]
    if len(cleaned) > MAX_ADDRESS_LENGTH:
        raise BadAddress(text)
    try:
        return ip_address(cleaned)
    except ValueError:
        raise BadAddress(text) from None


def _key_address(key: str) -> IPAddress | None:
    try:
        return ip_address(key)
    except ValueError:
        return None


def _why(exc: KamailioError) -> str:
    """A reason the operator can act on."""
    if isinstance(exc, KamailioFault) and "htable" in exc.message.casefold():
        return (f"Kamailio has no {TABLE!r} table ({exc.message}): it runs a configuration "
                "from before abuse protection; restart it (`orchestrator stack up`)")
    return str(exc)


def _node_bans(node: SwitchNode, now: float) -> list[Ban]:
    """The bans in force on node (raises KamailioError)."""
    found = []
    for key, value in htable.dump(node.rpc(RPC_TIMEOUT), TABLE).items():
        if isinstance(value, int) and value > now:
            found.append(Ban(key, node.name, value))
    return found


def node_bans(node: SwitchNode, now: float | None = None) -> list[Ban]:
    """The bans in force on one node, by address (raises KamailioError)."""
    moment = time.time() if now is None else now
    return sorted(_node_bans(node, moment), key=_sort_key)


def _sort_key(ban: Ban) -> tuple[int, int, str]:
    address = _key_address(ban.ip)
    if address is None:
        return (2, 0, ban.ip)
    return (address.version, int(address), ban.node)


def list_bans(session: Session, actor: Actor, settings: Settings,
              now: float | None = None) -> dict[str, Any]:
    """``{"items": [ban...], "errors": [{"node", "error"}...]}``.

    Items (by address, then node): ``ip``, ``node``, ``expires_at`` (ISO 8601 UTC) and
    ``remaining_seconds``. A node that cannot be read is named in ``errors`` with the
    reason; the others are listed all the same.
    """
    actor.require("read")
    moment = time.time() if now is None else now
    bans: list[Ban] = []
    errors: list[dict[str, str]] = []
    for node in inventory.nodes(session, settings):
        try:
            bans.extend(_node_bans(node, moment))
        except KamailioError as exc:
            errors.append({"node": node.name, "error": _why(exc)})
    return {"items": [b.to_dict(moment) for b in sorted(bans, key=_sort_key)],
            "errors": errors}


def bans_of(session: Session, actor: Actor, settings: Settings,
            ip: str) -> tuple[str, list[dict[str, Any]]]:
    """The normalised address and its bans in force (what a Lift confirmation shows).

    BadAddress when ``ip`` is not an IP address; nodes that cannot be read are left out.
    """
    wanted = parse_address(ip)
    found = list_bans(session, actor, settings)["items"]
    return str(wanted), [b for b in found if _key_address(b["ip"]) == wanted]


def lift(session: Session, actor: Actor, settings: Settings, ip: str) -> dict[str, Any]:
    """Lift the ban of ``ip`` on every node that has it; the address is answered again
    at once. ``{"ip", "nodes": [names], "errors": [{"node", "error"}]}``.

    BadAddress when ``ip`` is not an IP address, NotFound when no node bans it,
    NodesUnreachable when no node that answered bans it but some did not answer.
    pike keeps counting the address: one that floods again is banned again.
    """
    actor.require("write")
    wanted = parse_address(ip)
    now = time.time()
    lifted: list[str] = []
    errors: list[dict[str, str]] = []
    for node in inventory.nodes(session, settings):
        try:
            rpc = node.rpc(RPC_TIMEOUT)
            entries = htable.dump(rpc, TABLE)
            held = False
            for key, value in entries.items():
                if _key_address(key) == wanted:
                    # an ended ban that the expiry timer has not removed yet goes too
                    removed = htable.delete(rpc, TABLE, key)
                    held = held or (removed and isinstance(value, int) and value > now)
            if held:
                lifted.append(node.name)
        except KamailioError as exc:
            errors.append({"node": node.name, "error": _why(exc)})
    shown = str(wanted)
    if not lifted:
        if errors:
            raise NodesUnreachable(shown, errors)
        raise NotFound("ban of", shown)
    audit.record(session, actor, "lift", OBJECT_TYPE, None,
                 summary=f"lifted the ban of {shown} on {', '.join(lifted)}")
    return {"ip": shown, "nodes": lifted, "errors": errors}
