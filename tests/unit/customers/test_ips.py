"""IP auth entries: normalisation, IPv6, overlap within a customer, sharing across."""

from __future__ import annotations

from ipaddress import ip_network
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.audit.models import AuditEntry
from orchestrator.customers import ips
from orchestrator.errors import Conflict, NotFound, ValidationFailed
from tests.unit.customers.conftest import OPERATOR, VIEWER


@pytest.mark.parametrize(("given", "stored"), [
    ("192.0.2.7", "192.0.2.7/32"),
    (" 198.51.100.0/24 ", "198.51.100.0/24"),
    ("2001:DB8::1", "2001:db8::1/128"),
    ("2001:db8:0:0::/64", "2001:db8::/64"),
])
def test_address_or_network_is_normalised(session: Session, make_customer: Any, given: str,
                                          stored: str) -> None:
    customer = make_customer()
    entry = ips.add_ip(session, OPERATOR, customer.id, {"network": given})
    assert entry.network == stored and entry.port is None
    assert [e.network for e in ips.list_ips(session, VIEWER, customer.id)] == [stored]


@pytest.mark.parametrize(("network", "port", "field"), [
    ("192.0.2.300", None, "network"),
    ("not an ip", None, "network"),
    ("", None, "network"),
    ("192.0.2.7/24", None, "network"),  # host bits set
    ("0.0.0.0/0", None, "network"),
    ("::/0", None, "network"),
    ("192.0.2.7", 0, "port"),
    ("192.0.2.7", 65536, "port"),
    ("192.0.2.7", "sip", "port"),
])
def test_bad_entry_names_the_field(session: Session, make_customer: Any, network: str,
                                   port: Any, field: str) -> None:
    customer = make_customer()
    with pytest.raises(ValidationFailed) as info:
        ips.add_ip(session, OPERATOR, customer.id, {"network": network, "port": port})
    assert list(info.value.errors) == [field]
    assert ips.list_ips(session, OPERATOR, customer.id) == []


def test_host_bits_error_suggests_the_network(session: Session, make_customer: Any) -> None:
    customer = make_customer()
    with pytest.raises(ValidationFailed, match=r"192\.0\.2\.0/24"):
        ips.add_ip(session, OPERATOR, customer.id, {"network": "192.0.2.7/24"})


def test_overlap_within_one_customer_is_refused_naming_the_entry(
        session: Session, make_customer: Any) -> None:
    customer = make_customer()
    first = ips.add_ip(session, OPERATOR, customer.id, {"network": "192.0.2.0/24"})
    with pytest.raises(Conflict) as info:
        ips.add_ip(session, OPERATOR, customer.id, {"network": "192.0.2.77"})
    assert info.value.field == "network"
    assert f"entry {first.id}" in info.value.message and "192.0.2.0/24" in info.value.message
    with pytest.raises(Conflict):
        # contains the first
        ips.add_ip(session, OPERATOR, customer.id, {"network": "192.0.0.0/16"})
    ips.add_ip(session, OPERATOR, customer.id, {"network": "192.0.3.1"})  # adjacent, no overlap
    assert len(ips.list_ips(session, OPERATOR, customer.id)) == 2


def test_ipv6_overlap(session: Session, make_customer: Any) -> None:
    customer = make_customer()
    ips.add_ip(session, OPERATOR, customer.id, {"network": "2001:db8::/32"})
    with pytest.raises(Conflict):
        ips.add_ip(session, OPERATOR, customer.id, {"network": "2001:db8:1::5"})
    ips.add_ip(session, OPERATOR, customer.id, {"network": "2001:db9::1"})
    # other family never overlaps
    ips.add_ip(session, OPERATOR, customer.id, {"network": "192.0.2.1"})


def test_port_specific_overlap_semantics(session: Session, make_customer: Any) -> None:
    customer = make_customer()
    ips.add_ip(session, OPERATOR, customer.id, {"network": "192.0.2.1", "port": 5060})
    # other port: allowed
    ips.add_ip(session, OPERATOR, customer.id, {"network": "192.0.2.1", "port": "5070"})
    with pytest.raises(Conflict):
        # same port
        ips.add_ip(session, OPERATOR, customer.id, {"network": "192.0.2.1", "port": 5060})
    with pytest.raises(Conflict):
        ips.add_ip(session, OPERATOR, customer.id, {"network": "192.0.2.0/30"})  # any port vs 5060
    other = make_customer("Other")
    ips.add_ip(session, OPERATOR, other.id, {"network": "192.0.2.0/24"})
    with pytest.raises(Conflict):
        # port inside any-port
        ips.add_ip(session, OPERATOR, other.id, {"network": "192.0.2.9", "port": 5060})


def test_customers_may_share_an_address(session: Session, make_customer: Any) -> None:
    one, two = make_customer("One"), make_customer("Two")
    ips.add_ip(session, OPERATOR, one.id, {"network": "203.0.113.5"})
    shared = ips.add_ip(session, OPERATOR, two.id, {"network": "203.0.113.5"})
    assert shared.customer_id == two.id


def test_delete_checks_the_owner_and_audits(session: Session, make_customer: Any) -> None:
    one, two = make_customer("One"), make_customer("Two")
    entry = ips.add_ip(session, OPERATOR, one.id, {"network": "203.0.113.5", "port": 5060})
    with pytest.raises(NotFound):
        ips.delete_ip(session, OPERATOR, two.id, entry.id)
    ips.delete_ip(session, OPERATOR, one.id, entry.id)
    assert ips.list_ips(session, OPERATOR, one.id) == []
    actions = [(e.action, e.object_id) for e in session.scalars(
        select(AuditEntry).where(AuditEntry.object_type == "customer_ip"))]
    assert actions == [("create", entry.id), ("delete", entry.id)]
    ips.add_ip(session, OPERATOR, one.id, {"network": "203.0.113.5"})  # free again


def test_unknown_field_and_missing_network(session: Session, make_customer: Any) -> None:
    customer = make_customer()
    with pytest.raises(ValidationFailed) as info:
        ips.add_ip(session, OPERATOR, customer.id, {"ip": "192.0.2.1", "port": ""})
    assert set(info.value.errors) == {"ip", "network"}


@given(a=st.integers(0, 15), la=st.integers(28, 32), pa=st.sampled_from([None, 5060, 5070]),
       b=st.integers(0, 15), lb=st.integers(28, 32), pb=st.sampled_from([None, 5060, 5070]))
def test_overlap_matches_brute_force(a: int, la: int, pa: int | None, b: int, lb: int,
                                     pb: int | None) -> None:
    net_a = ip_network(f"10.0.0.{a}/{la}", strict=False)
    net_b = ip_network(f"10.0.0.{b}/{lb}", strict=False)
    shared_address = bool(set(net_a) & set(net_b))
    shared_port = pa is None or pb is None or pa == pb
    assert ips.overlaps(net_a, pa, net_b, pb) == (shared_address and shared_port)
    assert ips.overlaps(net_a, pa, net_b, pb) == ips.overlaps(net_b, pb, net_a, pa)
