"""Statistics (orchestrator/billing/stats.py): figures computed by hand from a few
CDRs, money converted into the base currency, time buckets, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from orchestrator.actor import SYSTEM
from orchestrator.billing.stats import StatsQuery, parse_query, statistics
from orchestrator.carriers.service import create_carrier
from orchestrator.customers.service import create_customer
from orchestrator.errors import ValidationFailed
from orchestrator.ratecards.models import CustomerCard, ExchangeRate, Rate, RateRevision
from tests.support.cdrs import add_cdrs
from tests.unit.billing.test_search import migrated, session  # noqa: F401  (fixtures)

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
UNIT = 100_000_000  # 1.00 of a currency in rate units


@pytest.fixture
def ids(session: Session) -> dict[str, int]:  # noqa: F811
    """Acme (USD card) and Bolt (EUR card, 0.8 EUR per USD) over two carriers."""
    acme = create_customer(session, SYSTEM, {"name": "Acme", "currency": "USD"})
    bolt = create_customer(session, SYSTEM, {"name": "Bolt", "currency": "EUR"})
    tel = create_carrier(session, SYSTEM, {"name": "TelCo", "currency": "USD"})
    far = create_carrier(session, SYSTEM, {"name": "FarNet", "currency": "USD"})
    session.add(ExchangeRate(currency="EUR", per_base="0.8"))
    card = CustomerCard(name="Retail", currency="USD")
    session.add(card)
    session.flush()
    revision = RateRevision(number=1, state="active", customer_card_id=card.id)
    session.add(revision)
    session.flush()
    session.add(Rate(revision_id=revision.id, prefix="44", name="United Kingdom",
                     rate=UNIT))
    rated = {"rated_at": T0, "customer_card_revision_id": revision.id}
    add_cdrs(
        session,
        # Acme -> TelCo, 44: 60 s answered, PDD 1.5 s; sell 1.00 USD, buy 0.40 USD
        {"start_at": T0, "customer_id": acme.id, "carrier_id": tel.id,
         "duration_ms": 60_000, "pdd_ms": 1500, "sell_prefix": "44",
         "sell_currency": "USD", "sell_charge": UNIT, "buy_currency": "USD",
         "buy_charge": 40_000_000, **rated},
        # Acme -> TelCo, 44: 30 s answered, PDD 2.5 s; sell 0.50, buy 0.20
        {"start_at": T0 + timedelta(minutes=30), "customer_id": acme.id,
         "carrier_id": tel.id, "duration_ms": 30_000, "pdd_ms": 2500, "sell_prefix": "44",
         "sell_currency": "USD", "sell_charge": UNIT // 2, "buy_currency": "USD",
         "buy_charge": 20_000_000, **rated},
        # Acme -> FarNet: busy, no PDD
        {"start_at": T0 + timedelta(minutes=70), "customer_id": acme.id,
         "carrier_id": far.id, "code": 486, "pdd_ms": None},
        # Bolt -> FarNet, 33: 120 s, sell 2.00 EUR (= 2.50 USD), buy 1.00 USD, PDD 3 s
        {"start_at": T0 + timedelta(minutes=80), "customer_id": bolt.id,
         "carrier_id": far.id, "duration_ms": 120_000, "pdd_ms": 3000, "sell_prefix": "33",
         "sell_currency": "EUR", "sell_charge": 2 * UNIT, "buy_currency": "USD",
         "buy_charge": UNIT, **rated},
        # Bolt: answered 6 s, not rated yet
        {"start_at": T0 + timedelta(minutes=90), "customer_id": bolt.id,
         "carrier_id": far.id, "duration_ms": 6_000, "pdd_ms": 1000},
        # refused before any customer was known
        {"start_at": T0 + timedelta(minutes=100), "customer_id": None, "code": 403,
         "pdd_ms": None},
        # outside the period
        {"start_at": T0 + timedelta(days=2), "customer_id": acme.id, "duration_ms": 1000})
    return {"acme": acme.id, "bolt": bolt.id, "tel": tel.id, "far": far.id}


def query(group_by: str, **extra: str) -> StatsQuery:
    return parse_query({"from": "2026-03-01T10:00Z", "to": "2026-03-01T14:00Z",
                        "group_by": group_by, **extra})


def test_by_customer(session: Session, ids: dict[str, int]) -> None:  # noqa: F811
    stats = statistics(session, SYSTEM, query("customer"), "USD")
    rows = {r.label: r.as_dict() for r in stats.rows}
    assert list(rows) == ["Acme", "Bolt", "(none)"]   # most attempts first
    acme = rows["Acme"]
    assert (acme["attempts"], acme["answered"]) == (3, 2)
    assert acme["asr"] == 66.67                       # 2 / 3
    assert acme["acd"] == 45.0                        # (60 + 30) / 2
    assert acme["pdd"] == 2.0                         # (1.5 + 2.5) / 2, busy has none
    assert acme["minutes"] == 1.5                     # 90 s
    assert (acme["revenue"], acme["cost"], acme["profit"]) == (
        "1.50000000", "0.60000000", "0.90000000")
    bolt = rows["Bolt"]
    assert (bolt["attempts"], bolt["answered"], bolt["asr"], bolt["unrated"]) == (2, 2, 100.0, 1)
    assert bolt["acd"] == 63.0 and bolt["minutes"] == 2.1    # (120 + 6) / 2; 126 s
    assert bolt["pdd"] == 2.0                                # (3 + 1) / 2
    assert (bolt["revenue"], bolt["cost"], bolt["profit"]) == (
        "2.50000000", "1.00000000", "1.50000000")           # 2 EUR / 0.8 = 2.50 USD
    total = stats.total.as_dict()
    assert (total["attempts"], total["answered"], total["revenue"], total["profit"]) == (
        6, 4, "4.00000000", "2.40000000")
    assert stats.unconverted == {}


def test_by_carrier_and_filters(session: Session, ids: dict[str, int]) -> None:  # noqa: F811
    rows = {r.label: r for r in statistics(session, SYSTEM, query("carrier"), "USD").rows}
    assert (rows["FarNet"].attempts, rows["FarNet"].answered) == (3, 2)
    assert (rows["TelCo"].attempts, rows["TelCo"].cost) == (2, 60_000_000)
    assert rows["(none)"].attempts == 1
    only = statistics(session, SYSTEM, query("carrier", customer_id=str(ids["bolt"])), "USD")
    assert [(r.label, r.attempts) for r in only.rows] == [("FarNet", 2)]


def test_by_destination_named_from_the_rate(session: Session,  # noqa: F811
                                            ids: dict[str, int]) -> None:
    rows = {r.key: r for r in statistics(session, SYSTEM, query("destination"), "USD").rows}
    assert rows["44"].label == "44 United Kingdom" and rows["44"].attempts == 2
    assert rows["33"].label == "33" and rows["33"].revenue == 250_000_000
    assert rows[""].label == "(not rated)" and rows[""].attempts == 3


def test_hour_buckets_include_empty_hours(session: Session, ids: dict[str, int]) -> None:  # noqa: F811
    stats = statistics(session, SYSTEM, query("hour"), "USD")
    assert [r.label for r in stats.rows] == ["2026-03-01 10:00", "2026-03-01 11:00",
                                             "2026-03-01 12:00", "2026-03-01 13:00"]
    assert [r.attempts for r in stats.rows] == [2, 4, 0, 0]
    assert [r.answered for r in stats.rows] == [2, 2, 0, 0]
    assert stats.rows[0].revenue == 150_000_000 and stats.rows[1].revenue == 250_000_000
    assert stats.rows[0].key == "2026-03-01T10:00:00Z"
    days = statistics(session, SYSTEM, parse_query(
        {"from": "2026-02-28", "to": "2026-03-04", "group_by": "day"}), "USD")
    assert [(r.label, r.attempts) for r in days.rows] == [
        ("2026-02-28", 0), ("2026-03-01", 6), ("2026-03-02", 0), ("2026-03-03", 1)]


def test_currency_without_rate_is_reported_not_converted(
        session: Session, ids: dict[str, int]) -> None:  # noqa: F811
    """With GBP as the base, the stored rates are per GBP: EUR (0.8) converts, USD
    (no rate) is reported apart and left out of the money figures."""
    stats = statistics(session, SYSTEM, query("customer"), "GBP")
    assert stats.currency == "GBP"
    assert stats.unconverted == {"USD": {"revenue": 150_000_000, "cost": 160_000_000}}
    assert (stats.total.revenue, stats.total.cost) == (250_000_000, 0)
    assert stats.as_dict()["unconverted"]["USD"]["cost"] == "1.60000000"


def test_bad_queries_are_refused() -> None:
    with pytest.raises(ValidationFailed) as bad:
        parse_query({"group_by": "planet", "from": "2026-03-02", "to": "2026-03-01",
                     "carrier_id": "-3"})
    assert set(bad.value.errors) == {"group_by", "from", "carrier_id"}
    assert "customer, carrier, destination, hour, day" in bad.value.errors["group_by"][0]
    with pytest.raises(ValidationFailed) as many:
        parse_query({"group_by": "hour", "from": "2026-01-01", "to": "2026-06-01"})
    assert "group by day" in many.value.errors["group_by"][0]
    assert parse_query({}).group_by == "customer"


def test_default_period_is_the_last_24_whole_hours() -> None:
    query = parse_query({"group_by": "hour"}, now=datetime(2026, 3, 5, 12, 30, tzinfo=UTC))
    assert (query.start, query.end) == (datetime(2026, 3, 4, 13, 0, tzinfo=UTC),
                                        datetime(2026, 3, 5, 13, 0, tzinfo=UTC))
    exact = parse_query({}, now=datetime(2026, 3, 5, 12, 0, tzinfo=UTC))
    assert exact.end == datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
