"""Gateways of a carrier: its switch addresses (egress targets, ingress recognition).

Host: IPv4/IPv6 address or RFC 1123 DNS name, no scheme and no port; port 1-65535
(5060); transport udp|tcp; weight 1-100 (relative share of the carrier's traffic among
its enabled gateways); enabled. host:port:transport is unique per carrier.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.carriers.models import Gateway
from orchestrator.carriers.schemas import GatewayCreate, GatewayUpdate, clean_gateway
from orchestrator.carriers.service import GATEWAY_DEFAULTS, gateway_to_dict, get_carrier, valid_id
from orchestrator.errors import Conflict, NotFound

_FIELDS = ("host", "port", "transport", "weight", "enabled")


def _check_unique(session: Session, carrier_id: int, host: str, port: int, transport: str,
                  except_id: int | None = None) -> None:
    stmt = select(Gateway.id).where(Gateway.carrier_id == carrier_id, Gateway.host == host,
                                    Gateway.port == port, Gateway.transport == transport)
    if except_id is not None:
        stmt = stmt.where(Gateway.id != except_id)
    if session.scalar(stmt.limit(1)) is not None:
        raise Conflict("host", f"gateway {host} port {port}/{transport} already exists "
                       "for this carrier")


def list_gateways(session: Session, actor: Actor, carrier_id: int) -> list[Gateway]:
    carrier = get_carrier(session, actor, carrier_id)
    return list(carrier.gateways)


def get_gateway(session: Session, actor: Actor, carrier_id: int, gateway_id: int) -> Gateway:
    actor.require("read")
    gateway = session.get(Gateway, gateway_id) if valid_id(gateway_id) else None
    if gateway is None or gateway.carrier_id != carrier_id:
        get_carrier(session, actor, carrier_id)  # NotFound on the carrier first
        raise NotFound("gateway", gateway_id)
    return gateway


def add_gateway(session: Session, actor: Actor, carrier_id: int,
                data: GatewayCreate | Mapping[str, Any]) -> Gateway:
    actor.require("write")
    carrier = get_carrier(session, actor, carrier_id)
    values = GATEWAY_DEFAULTS | clean_gateway(GatewayCreate.of(data).given(), create=True)
    _check_unique(session, carrier.id, values["host"], values["port"], values["transport"])
    gateway = Gateway(carrier_id=carrier.id, **values)
    session.add(gateway)
    session.flush()
    session.refresh(carrier, ["gateways"])
    audit.record(session, actor, "create", "gateway", gateway.id,
                 f"gateway {gateway.host}:{gateway.port}/{gateway.transport} added to "
                 f"carrier {carrier.name}", after=gateway_to_dict(gateway))
    return gateway


def update_gateway(session: Session, actor: Actor, carrier_id: int, gateway_id: int,
                   data: GatewayUpdate | Mapping[str, Any]) -> Gateway:
    actor.require("write")
    gateway = get_gateway(session, actor, carrier_id, gateway_id)
    values = clean_gateway(GatewayUpdate.of(data).given())
    merged = {field: values.get(field, getattr(gateway, field)) for field in _FIELDS}
    _check_unique(session, carrier_id, merged["host"], merged["port"], merged["transport"],
                  except_id=gateway.id)
    before = gateway_to_dict(gateway)
    for field, value in values.items():
        setattr(gateway, field, value)
    session.flush()
    audit.record(session, actor, "update", "gateway", gateway.id,
                 f"gateway {gateway.host}:{gateway.port}/{gateway.transport} updated",
                 before=before, after=gateway_to_dict(gateway))
    return gateway


def delete_gateway(session: Session, actor: Actor, carrier_id: int, gateway_id: int) -> None:
    actor.require("write")
    gateway = get_gateway(session, actor, carrier_id, gateway_id)
    before = gateway_to_dict(gateway)
    carrier = gateway.carrier
    session.delete(gateway)
    session.flush()
    session.refresh(carrier, ["gateways"])
    audit.record(session, actor, "delete", "gateway", gateway_id,
                 f"gateway {before['host']}:{before['port']}/{before['transport']} removed "
                 f"from carrier {carrier.name}", before=before)
