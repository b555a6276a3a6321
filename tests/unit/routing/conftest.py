"""A migrated SQLite database with a customer, a tariff and provider cards for routes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.carriers import service as carriers
from orchestrator.customers import service as customers
from orchestrator.customers.models import Customer
from orchestrator.db import make_engine, session_factory, upgrade
from orchestrator.ratecards import customer_cards, provider_cards
from orchestrator.ratecards.models import CustomerCard, ProviderCard

OPERATOR = Actor(7, "olivia", "operator")
VIEWER = Actor(8, "victor", "viewer")


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("routing") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def db_url(migrated_db: Path, tmp_path: Path) -> str:
    path = tmp_path / "r.db"
    path.write_bytes(migrated_db.read_bytes())
    return f"sqlite:///{path}"


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        yield s
    engine.dispose()


@dataclass
class World:
    customer: Customer
    tariff: CustomerCard
    eur_tariff: CustomerCard
    cards: list[ProviderCard]


@pytest.fixture
def world(session: Session) -> World:
    customer = customers.create_customer(session, OPERATOR, {"name": "Acme",
                                                             "currency": "USD"})
    carrier = carriers.create_carrier(session, OPERATOR, {"name": "Telco",
                                                          "currency": "USD"})
    cards = [provider_cards.create_provider_card(
        session, OPERATOR, {"name": f"Telco {n}", "currency": "USD",
                            "carrier_id": carrier.id}) for n in ("A", "B", "C")]
    tariff = customer_cards.create_customer_card(
        session, OPERATOR, {"name": "Retail USD", "currency": "USD",
                            "parents": [{"provider_card_id": cards[0].id}]})
    eur = customer_cards.create_customer_card(
        session, OPERATOR, {"name": "Retail EUR", "currency": "EUR", "parents": []})
    session.flush()
    return World(customer, tariff, eur, cards)
