"""A small demo model to try the switch with SIPp on one machine (getting-started.md).

One carrier whose gateway is a local SIPp UAS, a provider card with a few rates, a
customer card built from it with a 10 % markup, and a customer calling from a local
address with one route. Everything goes through the services (validation, audit), as
an operator's clicks would; running it twice changes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.actor import Actor
from orchestrator.carriers import service as carriers
from orchestrator.carriers.models import Carrier
from orchestrator.customers import ips
from orchestrator.customers import service as customers
from orchestrator.customers.models import Customer
from orchestrator.jobs.queue import RunContext
from orchestrator.ratecards import customer_cards, profit_rules, provider_cards, revisions
from orchestrator.ratecards.deck.store import rates_frame, write_rates
from orchestrator.ratecards.models import CustomerCard, ProviderCard
from orchestrator.ratecards.tasks import build_one
from orchestrator.routing import routes
from orchestrator.settings import Settings

NAME = "Demo"
RATES = {"1": "0.0050", "44": "0.0100", "4420": "0.0080", "33": "0.0150", "49": "0.0120"}


def _named(session: Session, model: Any, name: str) -> Any:
    return session.scalar(select(model).where(model.name == name))


def seed(sessions: sessionmaker[Session], settings: Settings, actor: Actor, *,
         carrier_port: int = 5080, source_ip: str = "127.0.0.1") -> dict[str, Any]:
    """Create the demo objects that do not exist yet; returns their ids."""
    actor.require("write")
    with sessions.begin() as session:
        carrier = _named(session, Carrier, f"{NAME} carrier") or carriers.create_carrier(
            session, actor, {"name": f"{NAME} carrier", "currency": "USD"},
            [{"host": "127.0.0.1", "port": carrier_port, "transport": "udp"}])
        session.flush()
        card = _named(session, ProviderCard, f"{NAME} A-Z")
        if card is None:
            card = provider_cards.create_provider_card(
                session, actor, {"name": f"{NAME} A-Z", "currency": "USD",
                                 "carrier_id": carrier.id})
            session.flush()
            revision = revisions.new_revision(session, card, "demo")
            revision.row_count = write_rates(session.connection(), revision.id,
                                             rates_frame(RATES))
            revisions.activate(session, actor, card, revision.id)
        tariff = _named(session, CustomerCard, f"{NAME} retail")
        build = tariff is None
        if tariff is None:
            tariff = customer_cards.create_customer_card(
                session, actor, {"name": f"{NAME} retail", "currency": "USD",
                                 "parents": [{"provider_card_id": card.id}]})
            session.flush()
            profit_rules.add_rule(session, actor, tariff.id,
                                  {"match": "", "type": "percent", "value": "10"})
        ids = {"carrier_id": carrier.id, "provider_card_id": card.id,
               "customer_card_id": tariff.id}
    if build:
        build_one(RunContext(settings, sessions), actor, ids["customer_card_id"], True,
                  lambda fraction, message: None)
    with sessions.begin() as session:
        customer = _named(session, Customer, f"{NAME} customer")
        if customer is None:
            customer = customers.create_customer(
                session, actor, {"name": f"{NAME} customer", "currency": "USD",
                                 "status": "active", "debit_limit": "100"})
            session.flush()
            ips.add_ip(session, actor, customer.id, {"network": source_ip, "port": None})
            routes.create_route(session, actor, customer.id,
                                {"tariff_id": ids["customer_card_id"], "name": "demo"})
        ids["customer_id"] = customer.id
    return ids
