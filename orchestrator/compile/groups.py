"""Route groups: which customers a call from a source address may belong to.

Several customers may share an IP (PRODUCT.md §1): a call from a shared source is
matched against the routes of *all* customers whose IP auth entries contain it, and
the tech prefix tells them apart. Kamailio's ``permissions`` module returns one
``tag`` per matching ``address`` row, so the compiler cuts the source space into
*atoms*, each a (network, port) whose every source is matched by exactly the same
set of entries, and gives each atom the id of its customer set (its route group).

Atoms: every entry's own (network, port), plus the intersection of every two
entries that overlap. CIDR networks are nested or disjoint, so the intersection of
two overlapping entries is the smaller network with the more specific port (any
port meets port p in p; two different ports do not meet). Without the intersections
a source would fall into the wrong group: customer C on ``192.0.2.5/32`` (any port)
and customer B on ``192.0.2.0/24`` port 5060 both match ``192.0.2.5:5060``, which
is neither entry but their intersection ``(192.0.2.5/32, 5060)`` -> {B, C}.
The intersection of any number of entries is one of these pairwise intersections
(the smallest network meets the entry that fixes the port), so one pass suffices.

The group of an atom (A, q) = every customer with an entry (N, p) where N contains A
and p is None (any port) or p == q. Identical customer sets share one group id; ids
are 1.. in the order of the sorted tuples of customer ids. A customer with SIP users
also gets the group of itself alone (digest-authenticated calls carry no source
match), reusing the id when that set is already a group.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network

from orchestrator.compile.snapshot import MAX_GROUP, AddressRow, GroupRow
from orchestrator.errors import ValidationFailed

Network = IPv4Network | IPv6Network
# Kamailio keeps non-host networks in a fixed-size subnet table (PERM_MAX_SUBNETS
# 512, shared by the two generations of docs/design/switch-data.md).
MAX_SUBNETS = 256


@dataclass(frozen=True)
class IpEntry:
    """One IP auth entry of a customer (``network`` is a normalised CIDR)."""

    customer_id: int
    network: str
    port: int | None = None


@dataclass(frozen=True)
class RouteGroups:
    addresses: tuple[AddressRow, ...]
    groups: tuple[GroupRow, ...]
    solo: dict[int, int]  # customer id -> group of that customer alone (SIP users)

    def members(self, group: int) -> tuple[int, ...]:
        return next(g.customer_ids for g in self.groups if g.group == group)


def _supernets(net: Network) -> Iterable[Network]:
    """``net`` and every network containing it, longest first."""
    for length in range(net.prefixlen, -1, -1):
        yield net.supernet(new_prefix=length)


def _is_host(net: Network) -> bool:
    return net.prefixlen == net.max_prefixlen


def _address_order(row: tuple[Network, int]) -> tuple[int, int, int, int, int]:
    """Most specific first: longer mask, then port rows before any-port rows, then
    address and port (a total order, so the tuple is deterministic)."""
    net, port = row
    return (net.version, -net.prefixlen, 0 if port else 1, int(net.network_address), port)


def route_groups(entries: Sequence[IpEntry], sip_customers: Iterable[int] = ()) -> RouteGroups:
    """Address rows, group rows and the solo group of each SIP-user customer.

    Raises ValidationFailed when there are more than MAX_SUBNETS non-host address rows
    or more than MAX_GROUP groups."""
    by_network: dict[Network, list[IpEntry]] = {}
    for entry in entries:
        by_network.setdefault(ip_network(entry.network), []).append(entry)

    def containing(net: Network) -> list[IpEntry]:
        return [e for sup in _supernets(net) for e in by_network.get(sup, ())]

    atoms: set[tuple[Network, int | None]] = set()
    for net, own in by_network.items():
        ports = {e.port for e in own}
        atoms.update((net, p) for p in ports)
        for outer in containing(net):
            for port in ports:  # (net, port) meets (outer network, outer.port)
                if port is None or outer.port is None or port == outer.port:
                    atoms.add((net, port if port is not None else outer.port))

    members: dict[tuple[Network, int], tuple[int, ...]] = {}
    for net, port in atoms:
        customers = {e.customer_id for e in containing(net)
                     if e.port is None or e.port == port}
        members[(net, port or 0)] = tuple(sorted(customers))

    sets = set(members.values()) | {(cid,) for cid in sip_customers}
    ids = {customers: n for n, customers in enumerate(sorted(sets), 1)}
    errors: dict[str, list[str]] = {}
    subnets = sorted(str(net) for net, _ in members if not _is_host(net))
    if len(subnets) > MAX_SUBNETS:
        errors["ip_auth"] = [
            f"{len(subnets)} IP auth networks wider than one address (with their port "
            f"variants): the switch holds at most {MAX_SUBNETS}; use single addresses or "
            f"merge networks (first ones: {', '.join(subnets[:5])})"]
    if len(ids) > MAX_GROUP:
        errors["ip_auth"] = [f"{len(ids)} distinct sets of customers sharing sources: "
                             f"the switch holds at most {MAX_GROUP}"]
    if errors:
        raise ValidationFailed(errors)
    addresses = tuple(AddressRow(str(net), port, ids[members[(net, port)]])
                      for net, port in sorted(members, key=_address_order))
    groups = tuple(GroupRow(n, customers) for customers, n in ids.items())
    solo = {cid: ids[(cid,)] for cid in sip_customers}
    return RouteGroups(addresses, tuple(sorted(groups, key=lambda g: g.group)), solo)


def groups_of(groups: Sequence[GroupRow]) -> dict[int, list[int]]:
    """customer id -> the (sorted) ids of every group the customer is in."""
    out: dict[int, list[int]] = {}
    for row in groups:
        for cid in row.customer_ids:
            out.setdefault(cid, []).append(row.group)
    return {cid: sorted(ids) for cid, ids in out.items()}
