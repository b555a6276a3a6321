"""Every customer field rule names its field, and bad input changes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.codes import COUNTRIES, CURRENCIES
from orchestrator.customers import service
from orchestrator.customers.models import Customer
from orchestrator.errors import ValidationFailed
from tests.unit.customers.conftest import OPERATOR

BAD_VALUES = [
    ("name", ""),
    ("name", "   "),
    ("name", "x" * 101),
    ("name", 42),
    ("name", "tab\tname"),
    ("status", "enabled"),
    ("status", "ACTIVE"),
    ("currency", "XYZ"),
    ("currency", "US"),
    ("currency", "XAU"),  # a precious metal, nobody is billed in it
    ("tax_percent", "-1"),
    ("tax_percent", "100.01"),
    ("tax_percent", "ten"),
    ("tax_percent", "1.23456"),  # more than 4 decimals
    ("debit_limit", "NaN"),
    ("debit_limit", "Infinity"),
    ("debit_limit", float("nan")),
    ("debit_limit", float("inf")),
    ("debit_limit", "1.0000001"),  # more than 6 decimals
    ("debit_limit", "1e20"),
    ("debit_limit", True),
    ("channels", -1),
    ("channels", "1.5"),
    ("channels", 2.0),
    ("channels", True),
    ("cps", "-3"),
    ("cps", "many"),
    ("email", "not-an-email"),
    ("email", "a@b"),
    ("email", "two@@example.com"),
    ("paypal_email", "pay pal@example.com"),
    ("mobile", "07700900123"),  # national format, not E.164
    ("mobile", "+0447700900123"),
    ("mobile", "+12345"),  # too short
    ("mobile", "+1234567890123456"),  # too long
    ("country", "UK"),  # not ISO 3166 (GB is)
    ("country", "GBR"),
    ("website", "example.com"),
    ("website", "ftp://example.com"),
    ("website", "http://"),
    ("website", "https://exa mple.com"),
    ("portal_access", "maybe"),
    ("email_verified", 2),
    ("verification_required", "sure"),
    ("address_lines", 12),
    ("unknown_field", "x"),
]


@pytest.mark.parametrize(("field", "value"), BAD_VALUES)
def test_bad_value_names_its_field(session: Session, field: str, value: Any) -> None:
    data: dict[str, Any] = {"name": "Acme", "currency": "USD", field: value}
    with pytest.raises(ValidationFailed) as info:
        service.create_customer(session, OPERATOR, data)
    assert list(info.value.errors) == [field]
    assert info.value.errors[field][0]
    assert session.scalar(select(func.count()).select_from(Customer)) == 0


def test_all_bad_fields_reported_at_once(session: Session) -> None:
    with pytest.raises(ValidationFailed) as info:
        service.create_customer(session, OPERATOR, {
            "name": "", "currency": "ZZZ", "tax_percent": "200", "email": "x",
            "mobile": "123", "country": "XX", "channels": -5})
    assert set(info.value.errors) == {"name", "currency", "tax_percent", "email", "mobile",
                                      "country", "channels"}


def test_name_and_currency_required(session: Session) -> None:
    with pytest.raises(ValidationFailed) as info:
        service.create_customer(session, OPERATOR, {})
    assert info.value.errors == {"name": ["is required"], "currency": ["is required"]}


def test_values_are_normalised(session: Session) -> None:
    customer = service.create_customer(session, OPERATOR, {
        "name": "  Acme Telecom  ", "currency": "eur", "country": "de",
        "mobile": "+44 7400 123-456", "tax_percent": "19.5", "debit_limit": "-250.125",
        "channels": "30", "cps": 5, "portal_access": "yes",
        "address_lines": "1 Main St\n\n  Floor 2 ", "website": "https://acme.example/x",
        "email": "ops@acme.example"})
    assert customer.name == "Acme Telecom"
    assert customer.currency == "EUR"
    assert customer.country == "DE"
    assert customer.mobile == "+447400123456"
    assert customer.tax_percent == Decimal("19.5")
    assert customer.debit_limit == Decimal("-250.125")
    assert isinstance(customer.debit_limit, Decimal)
    assert (customer.channels, customer.cps, customer.portal_access) == (30, 5, True)
    out = service.customer_to_dict(customer)
    assert out["address_lines"] == ["1 Main St", "Floor 2"]
    assert out["debit_limit"] == "-250.125"
    assert out["tax_percent"] == "19.5"


def test_money_read_back_from_the_database_is_decimal(session: Session) -> None:
    customer = service.create_customer(session, OPERATOR, {
        "name": "Exact", "currency": "USD", "debit_limit": "0.000001"})
    session.commit()
    session.expire_all()
    again = session.get(Customer, customer.id)
    assert again is not None and again.debit_limit == Decimal("0.000001")


def test_float_input_is_taken_by_its_decimal_text(session: Session) -> None:
    customer = service.create_customer(session, OPERATOR, {
        "name": "Floaty", "currency": "USD", "debit_limit": 0.1})
    assert customer.debit_limit == Decimal("0.1")


def test_code_lists_are_complete_enough() -> None:
    assert len(COUNTRIES) == 250  # the 249 ISO 3166-1 codes plus XK (Kosovo)
    assert {"US", "GB", "DE", "AQ", "SS", "XK"} <= COUNTRIES
    assert {"USD", "EUR", "GBP", "JPY", "CHF", "INR", "ZAR"} <= CURRENCIES
    assert not {"XXX", "XTS", "XAU"} & CURRENCIES


def test_input_that_is_not_a_mapping_is_refused(session: Session) -> None:
    with pytest.raises(ValidationFailed) as info:
        service.create_customer(session, OPERATOR, ["name", "Acme"])  # type: ignore[arg-type]
    assert "body" in info.value.errors
