"""Profit rules: validation per field, order kept contiguous, move, import from parents."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from orchestrator.errors import NotFound, PermissionDenied, ValidationFailed
from orchestrator.ratecards import profit_rules as service
from tests.unit.ratecards.cards_support import (
    ADMIN,
    VIEWER,
    customer,
    open_session,
    provider,
    revision,
)


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    yield from open_session(tmp_path)


def test_add_defaults_and_normalises(session: Session) -> None:
    card = customer(session)
    rule = service.add_rule(session, ADMIN, card.id, {"match": " ^44 ", "value": "12.50",
                                                      "type": "PERCENT", "mcd": "30"})
    assert (rule.match, rule.type, rule.value, rule.mcd) == ("^44", "percent", "12.5", 30)
    assert (rule.pulse, rule.connect_fee, rule.rounding, rule.status) == (
        None, None, None, "profit")
    second = service.add_rule(session, ADMIN, card.id, {"match": "4420", "type": "absolute",
                                                        "value": "0.01", "connect_fee": 0})
    assert (rule.position, second.position) == (0, 1) and second.connect_fee == "0"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("match", "^4(4", "regular expression"),
    ("match", "x" * 201, "at most 200"),
    ("type", "markup", "is not one of"),
    ("value", "-100.5", "-100 or more"),
    ("value", "abc", "decimal number"),
    ("value", "0.123456789", "at most 8 decimal places"),
    ("mcd", 0, "between 1 and"),
    ("pulse", "six", "whole number"),
    ("connect_fee", "-0.01", "0 or more"),
    ("rounding", "nearest", "is not one of"),
    ("status", "hidden", "is not one of"),
    ("name_override", "n" * 101, "at most 100"),
    ("priority", 1, "unknown field"),
])
def test_each_rule_field_is_checked(session: Session, field: str, value: object,
                                    message: str) -> None:
    card = customer(session)
    with pytest.raises(ValidationFailed) as info:
        service.add_rule(session, ADMIN, card.id, {"match": "44", field: value})
    assert list(info.value.errors) == [field]
    assert message in " ".join(info.value.errors[field])
    assert service.list_rules(session, VIEWER, card.id) == []


def test_value_minimum_depends_on_the_type(session: Session) -> None:
    card = customer(session)
    with pytest.raises(ValidationFailed) as info:
        service.add_rule(session, ADMIN, card.id, {"type": "relative", "value": "-5"})
    assert "0 or more" in info.value.errors["value"][0]
    rule = service.add_rule(session, ADMIN, card.id, {"type": "percent", "value": "-50"})
    assert rule.value == "-50"
    with pytest.raises(ValidationFailed) as changed:
        service.update_rule(session, ADMIN, card.id, rule.id, {"type": "absolute"})
    assert list(changed.value.errors) == ["value"] and rule.type == "percent"


def test_update_clears_overrides_with_null(session: Session) -> None:
    card = customer(session)
    rule = service.add_rule(session, ADMIN, card.id, {"mcd": 60, "rounding": "down"})
    service.update_rule(session, ADMIN, card.id, rule.id, {"mcd": None, "status": "blocked"})
    assert (rule.mcd, rule.rounding, rule.status) == (None, "down", "blocked")


def test_move_and_delete_keep_positions_contiguous(session: Session) -> None:
    card = customer(session)
    a, b, c = (service.add_rule(session, ADMIN, card.id, {"match": m})
               for m in ("1", "2", "3"))
    moved = service.move_rule(session, ADMIN, card.id, c.id, 0)
    assert [r.match for r in moved] == ["3", "1", "2"]
    assert [r.position for r in moved] == [0, 1, 2]
    with pytest.raises(ValidationFailed) as info:
        service.move_rule(session, ADMIN, card.id, a.id, 3)
    assert list(info.value.errors) == ["position"]
    service.delete_rule(session, ADMIN, card.id, a.id)
    rules = service.list_rules(session, VIEWER, card.id)
    assert [(r.match, r.position) for r in rules] == [("3", 0), ("2", 1)]
    assert b in rules


def test_rules_belong_to_their_card(session: Session) -> None:
    mine, other = customer(session, "Mine"), customer(session, "Other")
    rule = service.add_rule(session, ADMIN, mine.id, {})
    with pytest.raises(NotFound):
        service.get_rule(session, VIEWER, other.id, rule.id)
    with pytest.raises(NotFound):
        service.list_rules(session, VIEWER, other.id + 100)
    with pytest.raises(PermissionDenied):
        service.add_rule(session, VIEWER, mine.id, {})


def test_import_from_parents_one_rule_per_name(session: Session) -> None:
    a, b = provider(session, "A"), provider(session, "B")
    revision(session, a, [("4420", "UK London", 1), ("4421", "UK London", 1),
                          ("447", "UK Mobile", 5)])
    revision(session, a, [("33", "France", 1)], state="archived")  # not active: ignored
    revision(session, b, [("447", "UK Mobile", 4), ("49", "Germany", 2), ("1", "", 1)])
    card = customer(session, parents=[a, b])
    service.add_rule(session, ADMIN, card.id, {"match": "49"})  # already there: skipped
    created = service.import_from_parents(session, ADMIN, card.id)
    assert [(r.match, r.name_override, r.type, r.value) for r in created] == [
        ("^(4420|4421)$", "UK London", "percent", "0"), ("447", "UK Mobile", "percent", "0")]
    assert [r.position for r in service.list_rules(session, VIEWER, card.id)] == [0, 1, 2]
    pattern = re.compile(created[0].match)
    assert pattern.match("4420") and not pattern.match("44201")


def test_import_splits_long_matches(session: Session) -> None:
    deck = provider(session, "Deck")
    revision(session, deck, [(f"52{n:04d}", "Mexico Mobile", 1) for n in range(60)])
    card = customer(session, parents=[deck])
    created = service.import_from_parents(session, ADMIN, card.id)
    assert len(created) > 1 and all(len(r.match) <= 200 for r in created)
    covered = [p for r in created for p in re.findall(r"\d+", r.match)]
    assert covered == [f"52{n:04d}" for n in range(60)]


def test_import_needs_parents(session: Session) -> None:
    card = customer(session)
    with pytest.raises(ValidationFailed) as info:
        service.import_from_parents(session, ADMIN, card.id)
    assert list(info.value.errors) == ["parents"]
