"""Route groups from IP auth entries: atoms, memberships, ids, limits."""

from __future__ import annotations

import pytest

from orchestrator.compile.groups import IpEntry, RouteGroups, groups_of, route_groups
from orchestrator.errors import ValidationFailed

A, B, C, D = 1, 2, 3, 4


def memberships(result: RouteGroups) -> dict[tuple[str, int], tuple[int, ...]]:
    return {(a.network, a.port): result.members(a.group) for a in result.addresses}


def test_customers_sharing_an_address_share_one_group() -> None:
    result = route_groups([IpEntry(A, "192.0.2.7/32"), IpEntry(B, "192.0.2.7/32"),
                           IpEntry(C, "198.51.100.1/32")])
    assert memberships(result) == {("192.0.2.7/32", 0): (A, B),
                                   ("198.51.100.1/32", 0): (C,)}
    # ids follow the sorted customer tuples: (1, 2) before (3,)
    assert [(g.group, g.customer_ids) for g in result.groups] == [(1, (A, B)), (2, (C,))]


def test_overlapping_networks_and_ports_get_their_intersections() -> None:
    # A: a /24 on any port; B: one host of it on port 5060 only; C: that host, any port.
    result = route_groups([IpEntry(A, "10.0.0.0/24"), IpEntry(B, "10.0.0.5/32", 5060),
                           IpEntry(C, "10.0.0.5/32")])
    assert memberships(result) == {
        ("10.0.0.0/24", 0): (A,),
        ("10.0.0.5/32", 5060): (A, B, C),
        ("10.0.0.5/32", 0): (A, C),
    }


def test_a_host_on_any_port_inside_a_network_with_a_port() -> None:
    # Neither entry is the region 192.0.2.5:5060 that both match: it is their
    # intersection, which must get its own row with both customers.
    result = route_groups([IpEntry(C, "192.0.2.5/32"), IpEntry(B, "192.0.2.0/24", 5060)])
    assert memberships(result) == {
        ("192.0.2.5/32", 5060): (B, C),
        ("192.0.2.5/32", 0): (C,),
        ("192.0.2.0/24", 5060): (B,),
    }


def test_different_ports_on_one_address_do_not_meet() -> None:
    result = route_groups([IpEntry(A, "192.0.2.7/32", 5060),
                           IpEntry(B, "192.0.2.7/32", 5080)])
    assert memberships(result) == {("192.0.2.7/32", 5060): (A,), ("192.0.2.7/32", 5080): (B,)}


def test_rows_are_most_specific_first() -> None:
    result = route_groups([IpEntry(A, "10.0.0.0/8"), IpEntry(B, "10.1.0.0/16", 5060),
                           IpEntry(C, "10.1.2.3/32"), IpEntry(D, "10.1.0.0/16")])
    order = [(a.network, a.port) for a in result.addresses]
    assert order == [("10.1.2.3/32", 5060), ("10.1.2.3/32", 0), ("10.1.0.0/16", 5060),
                     ("10.1.0.0/16", 0), ("10.0.0.0/8", 0)]
    assert result.members(result.addresses[0].group) == (A, B, C, D)
    assert result.members(result.addresses[3].group) == (A, D)


def test_ipv6_and_ipv4_do_not_mix() -> None:
    result = route_groups([IpEntry(A, "2001:db8::/32"), IpEntry(B, "2001:db8::1/128"),
                           IpEntry(C, "0.0.0.0/0")])
    assert memberships(result) == {("2001:db8::1/128", 0): (A, B),
                                   ("2001:db8::/32", 0): (A,), ("0.0.0.0/0", 0): (C,)}


def test_sip_user_customers_get_their_own_group_reused_when_it_exists() -> None:
    result = route_groups([IpEntry(A, "192.0.2.1/32"), IpEntry(A, "192.0.2.2/32"),
                           IpEntry(B, "192.0.2.2/32")], sip_customers=[A, D])
    assert [(g.group, g.customer_ids) for g in result.groups] == [
        (1, (A,)), (2, (A, B)), (3, (D,))]
    assert result.solo == {A: 1, D: 3}
    assert groups_of(result.groups) == {A: [1, 2], B: [2], D: [3]}


def test_group_ids_do_not_depend_on_entry_order() -> None:
    entries = [IpEntry(B, "192.0.2.2/32"), IpEntry(A, "192.0.2.0/24"), IpEntry(C, "192.0.2.2/32")]
    assert route_groups(entries) == route_groups(list(reversed(entries)))


def test_more_than_256_subnets_is_refused() -> None:
    entries = [IpEntry(1, f"10.{n // 256}.{n % 256}.0/24") for n in range(257)]
    with pytest.raises(ValidationFailed) as error:
        route_groups(entries)
    assert "at most 256" in error.value.errors["ip_auth"][0]
    assert len(route_groups(entries[:256]).addresses) == 256
    # host addresses do not count
    hosts = [IpEntry(1, f"10.0.{n // 256}.{n % 256}/32") for n in range(300)]
    assert len(route_groups(hosts).addresses) == 300
