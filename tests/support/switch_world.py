"""A business model built through the services, for tests that route real calls.

Routing integration tests describe customers, carriers (their gateways are SIPp UAS
ports), provider cards with their rates, customer cards built from them, and
ingress routes; this module creates them exactly as an operator would (service
layer, validation included), builds the customer cards with the real build code,
and leaves compiling and applying to the caller.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from orchestrator.actor import Actor
from orchestrator.carriers import service as carriers
from orchestrator.carriers.models import Carrier
from orchestrator.customers import ips, sip_users
from orchestrator.customers import service as customers
from orchestrator.customers.models import Customer
from orchestrator.jobs.queue import RunContext
from orchestrator.ratecards import customer_cards, profit_rules, provider_cards, revisions
from orchestrator.ratecards.deck.store import rates_frame, write_rates
from orchestrator.ratecards.models import CustomerCard, ProviderCard
from orchestrator.ratecards.tasks import build_one
from orchestrator.routing import routes
from orchestrator.routing.models import IngressRoute
from orchestrator.settings import Settings

ADMIN = Actor(1, "tester", "admin")
_names = itertools.count(1)
_RUN = uuid.uuid4().hex[:6]  # names stay unique across worlds sharing one database

# A rate: "0.01" (per minute) or ("0.01", "blocked")
Rate = str | tuple[str, str]


class World:
    """Creates model objects in one session; call ``commit()`` before compiling."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings
        self.session = sessions()

    def _name(self, kind: str) -> str:
        return f"{kind} {next(_names)}-{_RUN}"

    def commit(self) -> None:
        self.session.commit()

    def close(self) -> None:
        self.session.close()

    # carriers and provider cards ------------------------------------------------------
    def carrier(self, ports: Iterable[int | tuple[int, int]] = (), *, name: str = "",
                transport: str = "udp", host: str = "127.0.0.1", **fields: Any) -> Carrier:
        """A carrier with one gateway per port on host; (port, weight) sets a weight."""
        gateways = []
        for item in ports:
            port, weight = item if isinstance(item, tuple) else (item, 1)
            gateways.append({"host": host, "port": port, "transport": transport,
                             "weight": weight})
        data = {"name": name or self._name("carrier"), "currency": "USD"} | fields
        carrier = carriers.create_carrier(self.session, ADMIN, data, gateways)
        self.session.flush()
        return carrier

    def provider_card(self, carrier: Carrier, rates: Mapping[str, Rate], *,
                      name: str = "", **fields: Any) -> ProviderCard:
        """A provider card with an active revision holding ``rates``."""
        card = provider_cards.create_provider_card(
            self.session, ADMIN, {"name": name or self._name("provider card"),
                                  "currency": carrier.currency,
                                  "carrier_id": carrier.id} | fields)
        self.session.flush()
        self.load_rates(card, rates)
        return card

    def load_rates(self, card: ProviderCard, rates: Mapping[str, Rate]) -> None:
        """A new active revision of ``card`` with ``rates``."""
        revision = revisions.new_revision(self.session, card, "test")
        frame = rates_frame(rates)
        write_rates(self.session.connection(), revision.id, frame)
        revision.row_count = frame.height
        self.session.flush()
        revisions.activate(self.session, ADMIN, card, revision.id)
        self.session.flush()

    # customer cards -------------------------------------------------------------------
    def tariff(self, parents: Sequence[ProviderCard | tuple[ProviderCard, int, int]], *,
               name: str = "", markup: str = "10", **fields: Any) -> CustomerCard:
        """A customer card built from ``parents`` ((card, weight, priority) tuples set
        the link's weight and priority) with one ``markup`` percent profit rule."""
        links = []
        for item in parents:
            card, weight, priority = item if isinstance(item, tuple) else (item, 1, 0)
            links.append({"provider_card_id": card.id, "weight": weight,
                          "priority": priority})
        data = {"name": name or self._name("tariff"), "currency": "USD",
                "parents": links} | fields
        card = customer_cards.create_customer_card(self.session, ADMIN, data)
        self.session.flush()
        profit_rules.add_rule(self.session, ADMIN, card.id,
                              {"match": "", "type": "percent", "value": markup})
        self.build(card)
        return card

    def build(self, card: CustomerCard) -> None:
        """Build ``card`` into a new active revision (the real build code)."""
        self.session.commit()
        build_one(RunContext(self.settings, self.sessions), ADMIN, card.id, True,
                  lambda fraction, message: None)
        self.session.expire_all()

    # customers and routes -------------------------------------------------------------
    def customer(self, *, ips_: Iterable[str | tuple[str, int]] = (),
                 users: Iterable[dict[str, Any]] = (), name: str = "",
                 **fields: Any) -> Customer:
        """An active customer with credit; IP auth entries ("net" or (net, port))
        and SIP users ({"username", "password", ...})."""
        data = {"name": name or self._name("customer"), "currency": "USD",
                "status": "active", "debit_limit": "1000"} | fields
        customer = customers.create_customer(self.session, ADMIN, data)
        self.session.flush()
        for entry in ips_:
            network, port = entry if isinstance(entry, tuple) else (entry, None)
            ips.add_ip(self.session, ADMIN, customer.id, {"network": network, "port": port})
        for user in users:
            sip_users.add_sip_user(self.session, ADMIN, customer.id, user,
                                   realm=self.settings.sip_realm)
        self.session.flush()
        return customer

    def route(self, customer: Customer, tariff: CustomerCard, **fields: Any) -> IngressRoute:
        route = routes.create_route(self.session, ADMIN, customer.id,
                                    {"tariff_id": tariff.id} | fields)
        self.session.flush()
        return route
