"""Gateways: host rules, ranges, host:port:transport unique per carrier, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.audit.models import AuditEntry
from orchestrator.carriers import gateways, service
from orchestrator.carriers.models import Carrier
from orchestrator.carriers.schemas import CarrierCreate, GatewayCreate, GatewayUpdate
from orchestrator.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests.unit.carriers.conftest import ADMIN, VIEWER


@pytest.fixture
def carrier(session: Session) -> Carrier:
    return service.create_carrier(session, ADMIN, CarrierCreate(name="Acme", currency="USD"))


@pytest.mark.parametrize(("host", "stored"), [
    ("192.0.2.10", "192.0.2.10"),
    ("2001:DB8::0:1", "2001:db8::1"),
    ("[2001:db8::2]", "2001:db8::2"),
    ("SBC-1.Carrier.example", "sbc-1.carrier.example"),
    ("sbc.carrier.example.", "sbc.carrier.example"),
    ("localhost", "localhost"),
])
def test_good_hosts(session: Session, carrier: Carrier, host: str, stored: str) -> None:
    gateway = gateways.add_gateway(session, ADMIN, carrier.id, GatewayCreate(host=host))
    assert gateway.host == stored
    assert (gateway.port, gateway.transport, gateway.weight, gateway.enabled) == (
        5060, "udp", 1, True)


@pytest.mark.parametrize(("host", "message"), [
    ("http://x", "without a scheme"),
    ("sip:gw.example", "without a scheme"),
    ("a..b", "empty labels"),
    ("host:5060", "port field"),
    ("300.1.1.1", "not a valid IPv4 address"),
    ("1.2.3", "not a valid IPv4 address"),
    ("-bad.example", "not valid"),
    ("under_score.example", "not valid"),
    ("gw.example/tcp", "without a path"),
    ("0.0.0.0", "unicast"),
    ("224.0.0.1", "unicast"),
    ("fe80::1%eth0", "zone"),
    ("2001:db8::zz", "IPv6"),
    ("", "is required"),
    ("a" * 64 + ".example", "not valid"),
])
def test_bad_hosts_name_the_host_field(session: Session, carrier: Carrier, host: str,
                                       message: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        gateways.add_gateway(session, ADMIN, carrier.id, GatewayCreate(host=host))
    assert list(info.value.errors) == ["host"]
    assert message in info.value.errors["host"][0]
    assert gateways.list_gateways(session, ADMIN, carrier.id) == []


@pytest.mark.parametrize(("field", "value"), [
    ("port", 0), ("port", 65536), ("transport", "tls"), ("weight", 0), ("weight", 101),
    ("enabled", "perhaps"),
])
def test_ranges_name_the_field(session: Session, carrier: Carrier, field: str,
                               value: object) -> None:
    data = GatewayCreate.from_mapping({"host": "192.0.2.1", field: value})
    with pytest.raises(ValidationFailed) as info:
        gateways.add_gateway(session, ADMIN, carrier.id, data)
    assert list(info.value.errors) == [field]


def test_same_host_port_transport_twice_conflicts(session: Session, carrier: Carrier) -> None:
    gateways.add_gateway(session, ADMIN, carrier.id, GatewayCreate(host="192.0.2.1"))
    with pytest.raises(Conflict) as info:
        gateways.add_gateway(session, ADMIN, carrier.id, GatewayCreate(host="192.0.2.1"))
    assert info.value.field == "host"
    # Another port or transport is another gateway; another carrier may share the host.
    gateways.add_gateway(session, ADMIN, carrier.id, GatewayCreate(host="192.0.2.1", port=5080))
    tcp = gateways.add_gateway(session, ADMIN, carrier.id,
                               GatewayCreate(host="192.0.2.1", transport="TCP"))
    other = service.create_carrier(session, ADMIN, CarrierCreate(name="B", currency="USD"))
    gateways.add_gateway(session, ADMIN, other.id, GatewayCreate(host="192.0.2.1"))
    with pytest.raises(Conflict):  # moving a gateway onto an existing one
        gateways.update_gateway(session, ADMIN, carrier.id, tcp.id,
                                GatewayUpdate(transport="udp"))
    assert tcp.transport == "tcp"
    with pytest.raises(Conflict, match="gateways\\[0\\]"):
        service.create_carrier(session, ADMIN, CarrierCreate(name="C", currency="USD"),
                               [GatewayCreate(host="gw.example"),
                                GatewayCreate(host="GW.example.")])


def test_update_delete_and_audit(session: Session, carrier: Carrier) -> None:
    gw = gateways.add_gateway(session, ADMIN, carrier.id,
                              GatewayCreate(host="192.0.2.1", weight=10))
    gateways.update_gateway(session, ADMIN, carrier.id, gw.id,
                            GatewayUpdate(weight=40, enabled=False))
    assert (gw.weight, gw.enabled) == (40, False)
    assert [g.id for g in carrier.gateways] == [gw.id]
    gateways.delete_gateway(session, ADMIN, carrier.id, gw.id)
    assert carrier.gateways == []
    entries = list(session.scalars(select(AuditEntry).where(
        AuditEntry.object_type == "gateway").order_by(AuditEntry.id)))
    assert [e.action for e in entries] == ["create", "update", "delete"]
    assert entries[1].before == {"weight": 10, "enabled": True}
    assert entries[1].after == {"weight": 40, "enabled": False}
    assert entries[2].before is not None and entries[2].before["host"] == "192.0.2.1"


def test_gateway_of_another_carrier_is_not_found(session: Session, carrier: Carrier) -> None:
    other = service.create_carrier(session, ADMIN, CarrierCreate(name="B", currency="USD"))
    gw = gateways.add_gateway(session, ADMIN, other.id, GatewayCreate(host="192.0.2.1"))
    with pytest.raises(NotFound, match="gateway"):
        gateways.update_gateway(session, ADMIN, carrier.id, gw.id, GatewayUpdate(weight=2))
    with pytest.raises(NotFound, match="carrier"):
        gateways.delete_gateway(session, ADMIN, 999, gw.id)
    with pytest.raises(PermissionDenied):
        gateways.delete_gateway(session, VIEWER, other.id, gw.id)
    assert gateways.list_gateways(session, VIEWER, other.id) == [gw]
