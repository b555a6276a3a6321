"""Editing a draft: add/change/delete one row, filtered transformation (preview, apply)."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.audit.models import AuditEntry
from orchestrator.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from orchestrator.ratecards import draft_edits as service
from orchestrator.ratecards import draft_transform as transforms
from orchestrator.ratecards.deck import read_rates, write_rates
from orchestrator.ratecards.deck.validate import CANONICAL_SCHEMA
from orchestrator.ratecards.models import Rate, RateRevision
from orchestrator.ratecards.money import MAX_UNITS, SCALE
from orchestrator.ratecards.revisions import create_draft_copy
from tests.unit.ratecards.cards_support import (
    ADMIN,
    VIEWER,
    customer,
    open_session,
    provider,
    revision,
)

ROWS = [("1", "USA", 1_000_000), ("44", "UK", 2_000_000), ("4420", "UK London", 2_500_000),
        ("447", "UK Mobile", 9_000_000, None, None, "blocked"),
        ("49", "Germany", 1_500_000), ("4915", "germany MOBILE", 7_000_000)]


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    yield from open_session(tmp_path)


@pytest.fixture
def draft(session: Session) -> tuple[Any, RateRevision]:
    card = provider(session)
    revision(session, card, ROWS)
    return card, create_draft_copy(session, ADMIN, card)


def rates(session: Session, revision_id: int) -> dict[str, dict[str, Any]]:
    return {r["prefix"]: dict(r) for r in session.execute(
        select(Rate.prefix, Rate.name, Rate.rate, Rate.inter, Rate.intra, Rate.mcd,
               Rate.pulse, Rate.connect_fee, Rate.status).where(
            Rate.revision_id == revision_id)).mappings()}


def errors_of(call: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as caught:
        call()
    return caught.value.errors


# --- one row ---------------------------------------------------------------------

def test_add_rate_stores_row_counts_and_audits(session: Session, draft: Any) -> None:
    card, rev = draft
    row = service.add_rate(session, ADMIN, card, rev.id, {
        "prefix": " 3312 ", "name": "France Paris", "rate": "0,0123", "inter": "0.02",
        "intra": "", "mcd": "30", "pulse": 6, "connect_fee": "0.5", "status": "BLOCKED"})
    assert row["prefix"] == "3312" and row["rate"] == 1_230_000 and row["inter"] == 2_000_000
    assert row["intra"] is None and (row["mcd"], row["pulse"]) == (30, 6)
    assert row["connect_fee"] == 50_000_000 and row["status"] == "blocked"
    assert rev.row_count == len(ROWS) + 1
    assert session.get(RateRevision, rev.id).row_count == len(rates(session, rev.id))
    defaults = service.add_rate(session, ADMIN, card, rev.id, {"prefix": "7", "rate": "1"})
    assert (defaults["name"], defaults["mcd"], defaults["pulse"], defaults["connect_fee"],
            defaults["status"]) == ("", 1, 1, 0, "active")
    entry = session.scalars(select(AuditEntry).where(AuditEntry.object_type == "rate")
                            .order_by(AuditEntry.id)).first()
    assert entry is not None and entry.action == "create" and "3312" in entry.summary
    assert entry.after is not None and entry.after["rate"] == "0.01230000"


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"prefix": "", "rate": "1"}, "prefix", "1-20 digits"),
    ({"prefix": "+44", "rate": "1"}, "prefix", "'+'"),
    ({"prefix": "44a", "rate": "1"}, "prefix", "digits only"),
    ({"prefix": "1" * 21, "rate": "1"}, "prefix", "longer than 20"),
    ({"prefix": "9"}, "rate", "required"),
    ({"prefix": "9", "rate": ""}, "rate", "required"),
    ({"prefix": "9", "rate": "abc"}, "rate", "not a number"),
    ({"prefix": "9", "rate": "1e3"}, "rate", "not a number"),
    ({"prefix": "9", "rate": "-0.1"}, "rate", "negative"),
    ({"prefix": "9", "rate": "0.123456789"}, "rate", "more than 8 decimal"),
    ({"prefix": "9", "rate": "92233720369"}, "rate", "too large"),
    ({"prefix": "9", "rate": "1", "inter": "x"}, "inter", "not a number"),
    ({"prefix": "9", "rate": "1", "intra": "-1"}, "intra", "negative"),
    ({"prefix": "9", "rate": "1", "connect_fee": "0.000000001"}, "connect_fee", "decimal"),
    ({"prefix": "9", "rate": "1", "mcd": 0}, "mcd", "not positive"),
    ({"prefix": "9", "rate": "1", "mcd": "3601"}, "mcd", "3600"),
    ({"prefix": "9", "rate": "1", "pulse": "1.5"}, "pulse", "whole number"),
    ({"prefix": "9", "rate": "1", "pulse": True}, "pulse", "whole number"),
    ({"prefix": "9", "rate": "1", "status": "disabled"}, "status", "active, blocked"),
    ({"prefix": "9", "rate": "1", "name": "x" * 201}, "name", "200"),
    ({"prefix": "9", "rate": "1", "colour": "red"}, "colour", "not a field"),
    ({"prefix": "44", "rate": "1"}, "prefix", "already in revision"),
])
def test_add_rate_validation(session: Session, draft: Any, data: dict[str, Any],
                             field: str, message: str) -> None:
    card, rev = draft
    errors = errors_of(lambda: service.add_rate(session, ADMIN, card, rev.id, data))
    assert message in " ".join(errors[field])
    assert rev.row_count == len(ROWS) and len(rates(session, rev.id)) == len(ROWS)


def test_update_rate_changes_given_fields_only(session: Session, draft: Any) -> None:
    card, rev = draft
    row = service.update_rate(session, ADMIN, card, rev.id, "44",
                              {"rate": "0.03", "mcd": 60, "pulse": "60", "status": "blocked",
                               "inter": "0.1"})
    assert (row["rate"], row["mcd"], row["pulse"], row["status"], row["inter"]) == (
        3_000_000, 60, 60, "blocked", 10_000_000)
    assert row["name"] == "UK" and row["connect_fee"] == 0
    cleared = service.update_rate(session, ADMIN, card, rev.id, "44",
                                  {"inter": None, "name": "United Kingdom"})
    assert cleared["inter"] is None and cleared["name"] == "United Kingdom"
    assert cleared["rate"] == 3_000_000 and rev.row_count == len(ROWS)
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "update",
                                                     AuditEntry.object_type == "rate")
                            .order_by(AuditEntry.id.desc())).first()
    assert entry is not None and entry.before == {"name": "UK", "inter": "0.10000000"}
    errors = errors_of(lambda: service.update_rate(session, ADMIN, card, rev.id, "44",
                                                   {"rate": None, "mcd": -1,
                                                    "prefix": "45"}))
    assert set(errors) == {"rate", "mcd", "prefix"}
    with pytest.raises(NotFound):
        service.update_rate(session, ADMIN, card, rev.id, "999", {"rate": "1"})


def test_delete_rate_counts_and_audits(session: Session, draft: Any) -> None:
    card, rev = draft
    service.delete_rate(session, ADMIN, card, rev.id, "4420")
    assert "4420" not in rates(session, rev.id) and rev.row_count == len(ROWS) - 1
    with pytest.raises(NotFound):
        service.delete_rate(session, ADMIN, card, rev.id, "4420")
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "delete",
                                                     AuditEntry.object_type == "rate")).one()
    assert entry.before is not None and entry.before["prefix"] == "4420"


def test_non_draft_revisions_are_refused(session: Session) -> None:
    card = provider(session)
    active = revision(session, card, ROWS)
    archived = revision(session, card, ROWS, state="archived")
    for rev in (active, archived):
        calls = [
            lambda r=rev: service.add_rate(session, ADMIN, card, r.id, {"prefix": "9",
                                                                         "rate": "1"}),
            lambda r=rev: service.update_rate(session, ADMIN, card, r.id, "44", {"rate": "1"}),
            lambda r=rev: service.delete_rate(session, ADMIN, card, r.id, "44"),
            lambda r=rev: transforms.preview_transform(session, ADMIN, card, r.id, {},
                                                    {"type": "set_rate", "value": "1"}),
            lambda r=rev: transforms.apply_transform(session, ADMIN, card, r.id, {},
                                                  {"type": "set_rate", "value": "1"}),
        ]
        for call in calls:
            with pytest.raises(Conflict) as caught:
                call()
            assert caught.value.field == "state" and "only a draft" in caught.value.message
    assert rates(session, active.id)["44"]["rate"] == 2_000_000
    assert len(rates(session, archived.id)) == len(ROWS)


def test_viewer_and_other_cards_refused(session: Session, draft: Any) -> None:
    card, rev = draft
    with pytest.raises(PermissionDenied):
        service.add_rate(session, VIEWER, card, rev.id, {"prefix": "9", "rate": "1"})
    with pytest.raises(PermissionDenied):
        transforms.apply_transform(session, VIEWER, card, rev.id, {}, {"type": "set_rate",
                                                                   "value": "0"})
    other = provider(session, "Other")
    with pytest.raises(NotFound):
        service.update_rate(session, ADMIN, other, rev.id, "44", {"rate": "1"})


def test_customer_card_draft_keeps_candidates(session: Session) -> None:
    parent = provider(session)
    card = customer(session, parents=[parent])
    built = revision(session, card, [("44", "UK", 100)], candidates=[f"{parent.id}:90"])
    rev = create_draft_copy(session, ADMIN, card)
    row = service.update_rate(session, ADMIN, card, rev.id, "44", {"rate": "0.5"})
    assert row["rate"] == 50_000_000 and row["candidates"] == f"{parent.id}:90"
    assert rates(session, built.id)["44"]["rate"] == 100


# --- filtered transformation ---------------------------------------------------------

def transform(session: Session, card: Any, rev: RateRevision, flt: dict[str, Any],
              change: dict[str, Any]) -> tuple[int, int]:
    preview = transforms.preview_transform(session, ADMIN, card, rev.id, flt, change)
    return preview["count"], transforms.apply_transform(session, ADMIN, card, rev.id, flt,
                                                     change)


@pytest.mark.parametrize(("flt", "selected"), [
    ({}, {"1", "44", "4420", "447", "49", "4915"}),
    ({"prefix": "^44"}, {"44", "4420", "447"}),
    ({"prefix": "44"}, {"44", "4420", "447"}),
    ({"prefix": "44$"}, {"44"}),
    ({"prefix": "4(4|9)\\d"}, {"4420", "447", "4915"}),
    ({"prefix": "[14]$|49"}, {"1", "49", "4915"}),
    ({"name": "mobile"}, {"447", "4915"}),
    ({"name": "GERMANY"}, {"49", "4915"}),
    ({"rate_min": "0.015", "rate_max": "0.025"}, {"44", "4420", "49"}),
    ({"rate_min": "0.07"}, {"447", "4915"}),
    ({"status": "blocked"}, {"447"}),
    ({"status": "active", "prefix": "^4", "name": "uk"}, {"44", "4420"}),
])
def test_filters_select_rows(session: Session, draft: Any, flt: dict[str, Any],
                             selected: set[str]) -> None:
    card, rev = draft
    before = rates(session, rev.id)
    count, applied = transform(session, card, rev, flt, {"type": "set_rate",
                                                         "value": "0.5"})
    after = rates(session, rev.id)
    assert count == applied == len(selected)
    assert {p for p in after if after[p]["rate"] != before[p]["rate"]} == selected
    assert all(after[p]["rate"] == 50_000_000 for p in selected)


def test_preview_sample_changes_nothing(session: Session, draft: Any) -> None:
    card, rev = draft
    before = rates(session, rev.id)
    preview = transforms.preview_transform(session, ADMIN, card, rev.id, {"prefix": "^4"},
                                        {"type": "add_rate", "value": "-0.01"})
    assert preview["count"] == 5 and [s["prefix"] for s in preview["sample"]] == [
        "44", "4420", "447", "49", "4915"]
    first = preview["sample"][0]
    assert first["before"]["rate"] == 2_000_000 and first["after"]["rate"] == 1_000_000
    assert first["after"]["name"] == "UK" and rates(session, rev.id) == before
    assert transforms.apply_transform(session, ADMIN, card, rev.id, {"prefix": "^4"},
                                   {"type": "add_rate", "value": "-0.01"}) == 5
    assert rates(session, rev.id)["4915"]["rate"] == 6_000_000


def test_sample_is_first_twenty(session: Session) -> None:
    card = provider(session)
    rev = revision(session, card, [(str(1000 + i), "X", i) for i in range(30)],
                   state="draft")
    preview = transforms.preview_transform(session, ADMIN, card, rev.id, {},
                                        {"type": "set_status", "status": "blocked"})
    assert preview["count"] == 30 and len(preview["sample"]) == transforms.SAMPLE_ROWS
    assert preview["sample"][0]["after"]["status"] == "blocked"
    assert preview["sample"][0]["before"]["status"] == "active"


def test_set_billing_and_status(session: Session, draft: Any) -> None:
    card, rev = draft
    assert transform(session, card, rev, {"prefix": "^49"},
                     {"type": "set_billing", "mcd": 30, "pulse": "6"}) == (2, 2)
    assert transform(session, card, rev, {"name": "london"},
                     {"type": "set_billing", "pulse": 60}) == (1, 1)
    assert transform(session, card, rev, {"status": "blocked"},
                     {"type": "set_status", "status": "active"}) == (1, 1)
    after = rates(session, rev.id)
    assert (after["49"]["mcd"], after["49"]["pulse"]) == (30, 6)
    assert (after["4420"]["mcd"], after["4420"]["pulse"]) == (1, 60)
    assert (after["1"]["mcd"], after["1"]["pulse"]) == (1, 1)
    assert after["447"]["status"] == "active" and after["49"]["rate"] == 1_500_000
    entry = session.scalars(select(AuditEntry).where(AuditEntry.object_id == rev.id,
                                                     AuditEntry.action == "update")
                            .order_by(AuditEntry.id.desc())).first()
    assert entry is not None and entry.after is not None and entry.after["rows"] == 1
    assert "set_status" in entry.summary


def test_multiply_exact_half_up_against_decimal(session: Session) -> None:
    card = provider(session)
    chooser = random.Random(4)
    values = [0, 1, 5, 49_999_999, 50_000_000, 99_999_999, 123_456_789, 10**15 + 7] + [
        chooser.randrange(0, 10**12) for _ in range(200)]
    rows = [(f"{100000 + i}", "X", v) for i, v in enumerate(values)]
    factors = ["1.1", "0.00000001", "0.5", "2.33333333", "1", "0", "3"]
    for factor in factors:
        rev = revision(session, card, rows, state="draft")
        assert transform(session, card, rev, {}, {"type": "multiply_rate",
                                                  "value": factor}) == (len(rows),
                                                                        len(rows))
        got = rates(session, rev.id)
        for prefix, _, units in rows:
            exact = (Decimal(units) * Decimal(factor)).quantize(Decimal(1), ROUND_HALF_UP)
            assert got[prefix]["rate"] == int(exact), (factor, units)
            assert got[prefix]["rate"] == transforms.multiply_reference(
                units, int(Decimal(factor) * SCALE))


def test_multiply_near_int64_limit(session: Session) -> None:
    card = provider(session)
    top = MAX_UNITS // 2
    rev = revision(session, card, [("1", "A", top), ("2", "B", 10)], state="draft")
    assert transform(session, card, rev, {}, {"type": "multiply_rate",
                                              "value": "2"}) == (2, 2)
    assert rates(session, rev.id)["1"]["rate"] == top * 2 <= MAX_UNITS
    errors = errors_of(lambda: transforms.apply_transform(
        session, ADMIN, card, rev.id, {}, {"type": "multiply_rate", "value": "1.00000001"}))
    assert "1 selected rate above" in errors["change.value"][0]
    errors = errors_of(lambda: transforms.apply_transform(
        session, ADMIN, card, rev.id, {}, {"type": "add_rate", "value": "0.00000002"}))
    assert "above the largest" in errors["change.value"][0]
    errors = errors_of(lambda: transforms.apply_transform(
        session, ADMIN, card, rev.id, {}, {"type": "add_rate", "value": "-0.00000021"}))
    assert "1 selected rate below 0" in errors["change.value"][0]
    assert rates(session, rev.id)["2"]["rate"] == 20  # nothing changed by the refusals


@pytest.mark.parametrize(("flt", "change", "field", "message"), [
    ({"prefix": "(?=4)"}, {"type": "set_rate", "value": "1"}, "filter.prefix", "(?"),
    ({"prefix": "4a"}, {"type": "set_rate", "value": "1"}, "filter.prefix", "'a'"),
    ({"prefix": "(44"}, {"type": "set_rate", "value": "1"}, "filter.prefix", "unbalanced"),
    ({"name": 5}, {"type": "set_rate", "value": "1"}, "filter.name", "text"),
    ({"rate_min": "x"}, {"type": "set_rate", "value": "1"}, "filter.rate_min", "number"),
    ({"rate_min": "2", "rate_max": "1"}, {"type": "set_rate", "value": "1"},
     "filter.rate_max", "below rate_min"),
    ({"status": "gone"}, {"type": "set_rate", "value": "1"}, "filter.status", "blocked"),
    ({"colour": "1"}, {"type": "set_rate", "value": "1"}, "filter.colour", "not a filter"),
    ({}, {"type": "double"}, "change.type", "multiply_rate"),
    ({}, {"type": "set_rate"}, "change.value", "required"),
    ({}, {"type": "set_rate", "value": "-1"}, "change.value", "negative"),
    ({}, {"type": "multiply_rate", "value": "-1"}, "change.value", "negative"),
    ({}, {"type": "multiply_rate", "value": "1000001"}, "change.value", "above"),
    ({}, {"type": "add_rate", "value": "0.000000001"}, "change.value", "decimal"),
    ({}, {"type": "set_billing"}, "change.mcd", "mcd, pulse"),
    ({}, {"type": "set_billing", "pulse": 0}, "change.pulse", "positive"),
    ({}, {"type": "set_status", "status": "on"}, "change.status", "active"),
    ({}, {"type": "set_status", "status": "active", "value": "1"}, "change.value",
     "not used"),
])
def test_transform_validation(session: Session, draft: Any, flt: dict[str, Any],
                              change: dict[str, Any], field: str, message: str) -> None:
    card, rev = draft
    before = rates(session, rev.id)
    for call in (transforms.preview_transform, transforms.apply_transform):
        errors = errors_of(lambda c=call: c(session, ADMIN, card, rev.id, flt, change))
        assert message in " ".join(errors[field]), errors
    assert rates(session, rev.id) == before


def test_large_draft_transform(session: Session) -> None:
    """200k rows: one regex multiply over all of them, checked against polars."""
    card = provider(session)
    rev = revision(session, card, [], state="draft")
    n = 200_000
    frame = pl.DataFrame({
        "prefix": [str(10_000_000 + i * 37) for i in range(n)],
        "name": ["Dest"] * n, "rate": [(i * 7_919) % 50_000_000 for i in range(n)],
        "inter": [None] * n, "intra": [None] * n, "mcd": [1] * n, "pulse": [1] * n,
        "connect_fee": [0] * n, "status": ["active"] * n,
    }, schema=CANONICAL_SCHEMA).sort("prefix")
    write_rates(session.connection(), rev.id, frame)
    rev.row_count = n
    session.flush()
    pattern = "1[0-2]\\d*[05]$"
    flt = {"prefix": pattern}
    change = {"type": "multiply_rate", "value": "1.1"}
    preview = transforms.preview_transform(session, ADMIN, card, rev.id, flt, change)
    applied = transforms.apply_transform(session, ADMIN, card, rev.id, flt, change)
    hit = frame["prefix"].str.contains(f"^(?:{pattern})")
    expected = frame.with_columns(pl.when(hit).then(
        (pl.col("rate").cast(pl.Int128) * 110_000_000 + SCALE // 2) // SCALE)
        .otherwise(pl.col("rate")).cast(pl.Int64).alias("rate"))
    assert preview["count"] == applied == int(hit.sum()) > 10_000
    assert all(re.match(f"^(?:{pattern})", s["prefix"]) for s in preview["sample"])
    got = read_rates(session.connection(), rev.id)
    assert got["rate"].to_list() == expected["rate"].to_list()
    assert rev.row_count == n
