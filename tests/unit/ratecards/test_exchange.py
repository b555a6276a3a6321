"""Exchange rates: set/replace/delete, CSV import all-or-nothing, exact factors."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from orchestrator.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from orchestrator.ratecards import exchange
from orchestrator.ratecards.models import ExchangeRate
from orchestrator.settings import Settings
from tests.unit.ratecards.cards_support import (
    ADMIN,
    VIEWER,
    customer,
    open_session,
    provider,
)


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    yield from open_session(tmp_path)


def test_base_currency_setting_defaults_to_usd() -> None:
    assert Settings().base_currency == "USD"
    assert Settings(base_currency="EUR").base_currency == "EUR"
    with pytest.raises(ValueError, match="base_currency"):
        Settings(base_currency="euro")


def test_set_replace_and_list(session: Session) -> None:
    exchange.set_rate(session, ADMIN, "eur", "0.920", "USD")
    exchange.set_rate(session, ADMIN, "GBP", 0.79, "USD")
    exchange.set_rate(session, ADMIN, "EUR", "0.93", "USD")
    assert [(r.currency, r.per_base) for r in exchange.list_rates(session, VIEWER)] == [
        ("EUR", "0.93"), ("GBP", "0.79")]


@pytest.mark.parametrize(("currency", "value", "field", "message"), [
    ("XYZ", "1", "currency", "ISO 4217"),
    ("USD", "1", "currency", "base currency"),
    ("EUR", "0", "per_base", "greater than 0"),
    ("EUR", "-2", "per_base", "greater than 0"),
    ("EUR", "abc", "per_base", "decimal number"),
    ("EUR", "NaN", "per_base", "decimal number"),
    ("EUR", "1e20", "per_base", "too large"),
    ("EUR", "0.0000000000001", "per_base", "at most 12"),
])
def test_bad_values_name_their_field(session: Session, currency: str, value: str,
                                     field: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        exchange.set_rate(session, ADMIN, currency, value, "USD")
    assert list(info.value.errors) == [field]
    assert message in info.value.errors[field][0]
    assert exchange.list_rates(session, VIEWER) == []


def test_factor_is_exact(session: Session) -> None:
    exchange.set_rate(session, ADMIN, "EUR", "0.9", "USD")
    exchange.set_rate(session, ADMIN, "GBP", "0.75", "USD")
    assert exchange.factor(session, "USD", "EUR", "USD") == (9, 10)
    assert exchange.factor(session, "EUR", "GBP", "USD") == (5, 6)  # 0.75 / 0.9
    assert exchange.factor(session, "GBP", "GBP", "USD") == (1, 1)
    num, den = exchange.factor(session, "EUR", "USD", "USD")
    assert Fraction(num, den) == Fraction(10, 9)
    with pytest.raises(ValidationFailed, match="JPY"):
        exchange.factor(session, "JPY", "EUR", "USD")
    assert exchange.convertible(session, "EUR", "GBP", "USD")
    assert not exchange.convertible(session, "EUR", "JPY", "USD")
    assert exchange.convertible(session, "JPY", "JPY", "USD")


def test_import_all_or_nothing(session: Session) -> None:
    exchange.set_rate(session, ADMIN, "EUR", "0.9", "USD")
    bad = "currency,per_base\nEUR,0.95\nGBP,x\nABC,1\nEUR,1\nUSD,1\nCHF\n"
    with pytest.raises(ValidationFailed) as info:
        exchange.import_csv(session, ADMIN, bad.encode(), "USD")
    assert set(info.value.errors) == {"row 3, column per_base", "row 4, column currency",
                                      "row 5, column currency", "row 6, column currency",
                                      "row 7"}
    assert [(r.currency, r.per_base) for r in exchange.list_rates(session, VIEWER)] == [
        ("EUR", "0.9")]
    good = "\ufeffEUR,0.95\r\nGBP, 0.8 \r\n\r\n"
    rows = exchange.import_csv(session, ADMIN, good.encode(), "USD")
    assert [(r.currency, r.per_base) for r in rows] == [("EUR", "0.95"), ("GBP", "0.8")]
    with pytest.raises(ValidationFailed) as empty:
        exchange.import_csv(session, ADMIN, b"currency,per_base\n", "USD")
    assert list(empty.value.errors) == ["file"]
    with pytest.raises(ValidationFailed):
        exchange.import_csv(session, ADMIN, b"\xff\xfe\x00", "USD")


def test_delete_refused_while_a_card_converts(session: Session) -> None:
    exchange.set_rate(session, ADMIN, "EUR", "0.9", "USD")
    deck = provider(session, "Euro deck", currency="EUR")
    card = customer(session, "Retail", currency="USD", parents=[deck])
    with pytest.raises(Conflict, match="Retail"):
        exchange.delete_rate(session, ADMIN, "EUR")
    session.delete(card)
    session.flush()
    exchange.delete_rate(session, ADMIN, "eur")
    assert session.get(ExchangeRate, "EUR") is None
    with pytest.raises(NotFound):
        exchange.delete_rate(session, ADMIN, "EUR")
    with pytest.raises(PermissionDenied):
        exchange.set_rate(session, VIEWER, "EUR", "1", "USD")
