"""Helpers of the rate card service tests: a migrated database, cards, revisions.

Revisions and their rows are inserted with plain SQL, as the importer and the build
will write them, so the service is tested on data it did not make itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.carriers import service as carriers
from orchestrator.carriers.models import Carrier
from orchestrator.db import make_engine, session_factory, upgrade
from orchestrator.ratecards import customer_cards, provider_cards
from orchestrator.ratecards.models import CustomerCard, ExchangeRate, ProviderCard, RateRevision

ADMIN = Actor(1, "alice", "admin")
VIEWER = Actor(2, "victor", "viewer")
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def open_session(tmp_path: Path) -> Iterator[Session]:
    url = f"sqlite:///{tmp_path / 'orchestrator.db'}"
    upgrade(url)
    engine = make_engine(url)
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


def carrier(session: Session, name: str = "Acme", currency: str = "USD") -> Carrier:
    return carriers.create_carrier(session, ADMIN, {"name": name, "currency": currency})


def provider(session: Session, name: str = "Acme A-Z", currency: str = "USD",
             **fields: Any) -> ProviderCard:
    if "carrier_id" not in fields:
        fields["carrier_id"] = carrier(session, f"carrier of {name}", currency).id
    return provider_cards.create_provider_card(
        session, ADMIN, {"name": name, "currency": currency} | fields)


def customer(session: Session, name: str = "Retail", currency: str = "USD",
             parents: Sequence[ProviderCard] = (), **fields: Any) -> CustomerCard:
    return customer_cards.create_customer_card(
        session, ADMIN, {"name": name, "currency": currency,
                         "parents": [{"provider_card_id": p.id} for p in parents]} | fields)


def exchange_rate(session: Session, currency: str, per_base: str) -> None:
    session.add(ExchangeRate(currency=currency, per_base=per_base))
    session.flush()


def revision(session: Session, card: ProviderCard | CustomerCard,
             rows: Sequence[tuple[Any, ...]], *, state: str = "active", number: int = 0,
             created_at: datetime = T0, candidates: Sequence[str | None] = (),
             parent_revisions: dict[str, int] | None = None) -> RateRevision:
    """A revision with ``rows`` of (prefix, name, rate units[, inter, intra, status])."""
    column = "provider_card_id" if isinstance(card, ProviderCard) else "customer_card_id"
    if not number:
        number = 1 + (session.scalar(text(
            f"SELECT COALESCE(MAX(number), 0) FROM rate_revisions WHERE {column} = :c"),
            {"c": card.id}) or 0)
    new_id = session.execute(text(
        f"INSERT INTO rate_revisions ({column}, number, state, created_at, row_count, "
        "source, activated_at) VALUES (:c, :n, :s, :t, :r, 'test', :a) RETURNING id"),
        {"c": card.id, "n": number, "s": state, "t": created_at, "r": len(rows),
         "a": created_at if state != "draft" else None}).scalar_one()
    for index, row in enumerate(rows):
        prefix, name, rate, *rest = row
        inter, intra, status = (list(rest) + [None, None, "active"][len(rest):])[:3]
        session.execute(text(
            "INSERT INTO rates (revision_id, prefix, name, rate, inter, intra, mcd, pulse, "
            "connect_fee, status, candidates) VALUES (:v, :p, :n, :r, :i, :j, 1, 1, 0, :s, "
            ":c)"), {"v": new_id, "p": prefix, "n": name, "r": rate, "i": inter, "j": intra,
                     "s": status, "c": candidates[index] if index < len(candidates) else None})
    result = session.get(RateRevision, new_id)
    assert result is not None
    if parent_revisions is not None:
        result.parent_revisions = parent_revisions
        session.flush()
    return result
