"""Cards, revisions and customers for the rating tests, made through the services
(customers, cards, ``revisions.new_revision`` + ``write_rates`` + ``activate``)."""

from __future__ import annotations

import itertools
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from orchestrator.customers import service as customers
from orchestrator.customers.models import Customer
from orchestrator.ratecards import revisions
from orchestrator.ratecards.deck.store import write_rates
from orchestrator.ratecards.deck.validate import CANONICAL_SCHEMA
from orchestrator.ratecards.jurisdiction import Jurisdictions, Region
from orchestrator.ratecards.models import CustomerCard, ProviderCard, RateRevision
from orchestrator.ratecards.money import parse_units
from tests.unit.ratecards import cards_support
from tests.unit.ratecards.cards_support import ADMIN, open_session

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
_names = itertools.count(1)
# A small NPA table: 201 and 973 New Jersey, 212 New York, 416 Ontario.
JURISDICTIONS = Jurisdictions({"1201": Region("US", "NJ"), "1973": Region("US", "NJ"),
                               "1212": Region("US", "NY"), "1416": Region("CA", "ON")})


@dataclass(frozen=True)
class R:
    """A rate row: money as decimal strings per minute."""

    prefix: str
    rate: str
    inter: str | None = None
    intra: str | None = None
    mcd: int = 1
    pulse: int = 1
    connect_fee: str = "0"
    status: str = "active"

    def row(self) -> dict[str, Any]:
        return {"prefix": self.prefix, "name": f"dest {self.prefix}",
                "rate": parse_units(self.rate),
                "inter": None if self.inter is None else parse_units(self.inter),
                "intra": None if self.intra is None else parse_units(self.intra),
                "mcd": self.mcd, "pulse": self.pulse,
                "connect_fee": parse_units(self.connect_fee), "status": self.status}


def session_at(tmp_path: Path) -> Generator[Session]:
    yield from open_session(tmp_path)


def customer(session: Session, currency: str = "USD") -> Customer:
    made = customers.create_customer(session, ADMIN, {"name": f"customer {next(_names)}",
                                                      "currency": currency})
    session.flush()
    return made


def sell_card(session: Session, currency: str = "USD", precision: int = 4,
              rounding: str = "up") -> CustomerCard:
    return cards_support.customer(session, f"tariff {next(_names)}", currency,
                                  precision=precision, rounding=rounding)


def buy_card(session: Session, currency: str = "USD") -> ProviderCard:
    return cards_support.provider(session, f"deck {next(_names)}", currency)


def revision(session: Session, card: ProviderCard | CustomerCard, rows: Sequence[R],
             activated_at: datetime = T0) -> RateRevision:
    """A new revision of ``card`` with ``rows``, activated at ``activated_at``."""
    made = revisions.new_revision(session, card, "test")
    frame = pl.DataFrame([r.row() for r in rows], schema=CANONICAL_SCHEMA)
    made.row_count = write_rates(session.connection(), made.id, frame)
    session.flush()
    if isinstance(card, ProviderCard):
        revisions.activate(session, ADMIN, card, made.id, now=activated_at)
    else:  # the sell side uses the revision id the switch routed with
        made.state, made.activated_at = "active", activated_at
        session.flush()
    return made
