"""Money and time fields, the error flattening and the list helpers other resources use."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from apiflask import Schema
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import ValidationError

from orchestrator.api.errors import flatten
from orchestrator.api.fields import Money, UtcDateTime
from orchestrator.api.listing import ListArgs, envelope, list_query, page_of
from orchestrator.listing import ListQuery, Page


class Payment(Schema):
    amount = Money(required=True)
    at = UtcDateTime()


def test_money_is_a_decimal_string_both_ways() -> None:
    assert Payment().dump({"amount": Decimal("12.5000")})["amount"] == "12.5000"
    assert Payment().load({"amount": "0.1"})["amount"] == Decimal("0.1")
    assert Payment().load({"amount": 0.1})["amount"] == Decimal("0.1")  # not 0.1000000000000000055
    for bad in ("NaN", "Infinity", "abc"):
        with pytest.raises(ValidationError):
            Payment().load({"amount": bad})


def test_money_is_a_string_in_the_openapi_document() -> None:
    spec = APISpec("t", "1", "3.0.3", plugins=[MarshmallowPlugin()])
    spec.components.schema("Payment", schema=Payment)
    amount = spec.to_dict()["components"]["schemas"]["Payment"]["properties"]["amount"]
    assert amount["type"] == "string" and amount["format"] == "decimal"


def test_times_are_utc_with_an_offset() -> None:
    naive = datetime(2026, 11, 25, 21, 0, 0)
    assert Payment().dump({"amount": "1", "at": naive})["at"] == "2026-11-25T21:00:00+00:00"
    loaded = Payment().load({"amount": "1", "at": "2026-11-25T23:00:00+02:00"})["at"]
    assert loaded == datetime(2026, 11, 25, 21, 0, tzinfo=UTC) and loaded.tzinfo == UTC


def test_flatten_names_nested_fields() -> None:
    detail = {"address": {"city": ["too long"]}, "rows": {2: {"prefix": ["digits only"]}},
              "_schema": ["inconsistent"], "name": ["required"]}
    assert flatten(detail) == {"address.city": ["too long"], "rows.2.prefix": ["digits only"],
                               "body": ["inconsistent"], "name": ["required"]}


def test_list_helpers() -> None:
    args = ListArgs().load({"q": "acme", "sort": "-name", "page": "3", "per_page": "20"})
    assert list_query(args) == ListQuery("acme", "-name", 3, 20)
    assert list_query(ListArgs().load({})) == ListQuery()
    with pytest.raises(ValidationError):
        ListArgs().load({"per_page": "501"})
    assert envelope(Page(["a"], 41, 3, 20)) == {"items": ["a"], "total": 41, "page": 3,
                                                "per_page": 20}
    assert page_of(Payment) is page_of(Payment)
    assert page_of(Payment)().dump({"items": [{"amount": Decimal(2)}], "total": 1,
                                    "page": 1, "per_page": 50})["items"] == [{"amount": "2"}]
