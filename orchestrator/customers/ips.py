"""IP auth entries of a customer: an address or CIDR network, optionally one port.

Several customers may share an address (their ingress routes' tech prefixes tell
them apart), but the entries of ONE customer must not overlap: two entries overlap
when their networks overlap and either has no port (any port) or both have the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any

from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.customers.models import CustomerIP
from orchestrator.customers.service import iso, load_customer
from orchestrator.customers.validation import BadValue, Errors, integer, network
from orchestrator.errors import Conflict, NotFound

OBJECT_TYPE = "customer_ip"
Network = IPv4Network | IPv6Network


def ip_to_dict(entry: CustomerIP) -> dict[str, Any]:
    return {"id": entry.id, "customer_id": entry.customer_id, "network": entry.network,
            "port": entry.port,
            "created_at": iso(entry.created_at)}


def describe(network_text: str, port: int | None) -> str:
    return f"{network_text} port {port}" if port is not None else f"{network_text} (any port)"


def overlaps(net_a: Network, port_a: int | None, net_b: Network, port_b: int | None) -> bool:
    """True when the two entries could both match one packet source."""
    if net_a.version != net_b.version or not net_a.overlaps(net_b):
        return False
    return port_a is None or port_b is None or port_a == port_b


def clean_ip(data: Mapping[str, Any]) -> tuple[Network, int | None]:
    """Parse {"network": ..., "port": ...}; port may be missing, None or "" (any port)."""
    errors = Errors()
    net: Network | None = None
    port: int | None = None
    for field in data:
        if field not in ("network", "port"):
            errors.add(str(field), "unknown field")
    try:
        net = network(data.get("network"))
    except BadValue as exc:
        errors.add("network", str(exc))
    if data.get("port") not in (None, ""):
        try:
            port = integer(1, 65535)(data["port"])
        except BadValue as exc:
            errors.add("port", str(exc))
    errors.check()
    assert net is not None
    return net, port


def list_ips(session: Session, actor: Actor, customer_id: int) -> list[CustomerIP]:
    actor.require("read")
    return list(load_customer(session, customer_id).ips)


def add_ip(session: Session, actor: Actor, customer_id: int,
           data: Mapping[str, Any]) -> CustomerIP:
    """Add an IP auth entry from {"network": address or CIDR (IPv4/IPv6), "port": 1..65535
    or None for any port}.

    The stored network is normalised (``192.0.2.7`` -> ``192.0.2.7/32``,
    ``2001:DB8::/32`` -> ``2001:db8::/32``).
    """
    actor.require("write")
    customer = load_customer(session, customer_id)
    net, port_number = clean_ip(data)
    for entry in customer.ips:
        if overlaps(net, port_number, ip_network(entry.network), entry.port):
            raise Conflict("network", f"{describe(str(net), port_number)} overlaps entry "
                           f"{entry.id} ({describe(entry.network, entry.port)}) of customer "
                           f"{customer.name}")
    entry = CustomerIP(network=str(net), port=port_number)
    customer.ips.append(entry)
    session.flush()
    after = ip_to_dict(entry)
    del after["created_at"]
    audit.record(session, actor, "create", OBJECT_TYPE, entry.id,
                 f"customer {customer.name}: IP {describe(entry.network, entry.port)} added",
                 after=after)
    return entry


def get_ip(session: Session, customer_id: int, ip_id: int) -> CustomerIP:
    entry = session.get(CustomerIP, ip_id)
    if entry is None or entry.customer_id != customer_id:
        raise NotFound("IP auth entry", ip_id)
    return entry


def delete_ip(session: Session, actor: Actor, customer_id: int, ip_id: int) -> None:
    actor.require("write")
    customer = load_customer(session, customer_id)
    entry = get_ip(session, customer_id, ip_id)
    before = ip_to_dict(entry)
    del before["created_at"]
    customer.ips.remove(entry)
    session.delete(entry)
    session.flush()
    audit.record(session, actor, "delete", OBJECT_TYPE, ip_id,
                 f"customer {customer.name}: IP {describe(entry.network, entry.port)} removed",
                 before=before)

