"""Revisions: draft copy, activation, notice period, scheduling, staleness, changes, pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.errors import Conflict, NotFound, ValidationFailed
from orchestrator.ratecards import revisions as service
from orchestrator.ratecards.models import Rate
from tests.unit.ratecards.cards_support import (
    ADMIN,
    T0,
    VIEWER,
    customer,
    open_session,
    provider,
    revision,
)

OLD = [("441", "UK", 100), ("442", "UK", 100), ("443", "UK", 100, 90, 80),
       ("444", "UK", 100), ("445", "UK", 100)]
NEW = [("441", "UK", 100), ("442", "UK", 120), ("443", "UK", 100, 95, 70),
       ("445", "UK", 50), ("446", "UK", 10), ("447", "UK", 10)]


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    yield from open_session(tmp_path)


def rows(session: Session, revision_id: int) -> list[tuple[object, ...]]:
    return [tuple(r) for r in session.execute(
        select(Rate.prefix, Rate.name, Rate.rate, Rate.inter, Rate.intra, Rate.status)
        .where(Rate.revision_id == revision_id).order_by(Rate.prefix))]


def test_classify_changes_counts(session: Session) -> None:
    card = provider(session)
    old = revision(session, card, OLD)
    new = revision(session, card, NEW, state="draft")
    counts = service.classify_changes(session, new.id, old.id)
    # 441 same; 442 up; 443 inter up (intra down): up; 444 gone; 445 down; 446/447 new
    assert counts == {"new": 2, "increase": 2, "decrease": 1, "unchanged": 1, "closed": 1}
    assert service.classify_changes(session, new.id, None)["new"] == 6
    blocked = revision(session, card, [("441", "UK", 100, None, None, "blocked")],
                       state="draft")
    assert service.classify_changes(session, blocked.id, old.id)["closed"] == 5
    assert service.store_changes(session, new) == counts and new.changes == counts


def test_changes_page_filters_and_pages(session: Session) -> None:
    card = provider(session)
    old = revision(session, card, OLD)
    new = revision(session, card, NEW, state="draft")
    page = service.changes_page(session, new.id, old.id, kind="increase")
    assert [(r["prefix"], r["old_rate"], r["new_rate"]) for r in page.items] == [
        ("442", 100, 120), ("443", 100, 100)]
    closed = service.changes_page(session, new.id, old.id, kind="closed")
    assert [(r["prefix"], r["new_rate"]) for r in closed.items] == [("444", None)]
    window = service.changes_page(session, new.id, old.id, prefix="44", page=2, per_page=3)
    assert window.total == 7 and [r["prefix"] for r in window.items] == ["444", "445", "446"]
    with pytest.raises(ValidationFailed) as info:
        service.changes_page(session, new.id, old.id, kind="moved")
    assert list(info.value.errors) == ["kind"]


def test_rates_page_prefix_range_and_name_search(session: Session) -> None:
    card = provider(session)
    rev = revision(session, card, [("1", "USA", 1), ("44", "UK", 2), ("441", "UK Geo", 3),
                                   ("4499", "UK Special", 4), ("45", "Denmark", 5),
                                   ("449", "UK 9", 6)],
                   candidates=["3:100,4:200"])
    uk = service.rates_page(session, rev.id, prefix="44")
    assert [r["prefix"] for r in uk.items] == ["44", "441", "449", "4499"] and uk.total == 4
    named = service.rates_page(session, rev.id, q="uk ", per_page=2, page=2)
    assert named.total == 4 and [r["prefix"] for r in named.items] == ["449", "4499"]
    first = service.rates_page(session, rev.id, per_page=1).items[0]
    assert first["candidates"] == [{"provider_card_id": 3, "cost": 100},
                                   {"provider_card_id": 4, "cost": 200}]
    with pytest.raises(ValidationFailed):
        service.rates_page(session, rev.id, prefix="4%")


def test_draft_copy_has_the_same_rows(session: Session) -> None:
    card = provider(session)
    active = revision(session, card, OLD)
    draft = service.create_draft_copy(session, ADMIN, card)
    assert (draft.number, draft.state, draft.source) == (2, "draft", "copy of 1")
    assert draft.row_count == 5 and rows(session, draft.id) == rows(session, active.id)
    empty = service.create_draft_copy(session, ADMIN, provider(session, "Other"))
    assert empty.number == 1 and rows(session, empty.id) == []


def test_activation_archives_the_previous_one(session: Session) -> None:
    card = provider(session)
    first = revision(session, card, OLD)
    second = revision(session, card, NEW, state="draft")
    now = T0 + timedelta(hours=1)
    service.activate(session, ADMIN, card, second.id, now)
    session.refresh(first)
    assert (first.state, second.state) == ("archived", "active")
    assert second.activated_at is not None and second.changes is not None
    assert second.changes["increase"] == 2
    assert service.active_revision(session, card) is second
    with pytest.raises(Conflict):
        service.activate(session, ADMIN, card, second.id, now)
    service.activate(session, ADMIN, card, first.id, now)  # roll back
    session.refresh(second)
    assert (first.state, second.state) == ("active", "archived")
    assert [r.number for r in service.list_revisions(session, VIEWER, card)] == [2, 1]


def test_notice_period_refuses_early_increases(session: Session) -> None:
    card = customer(session, notice_days=7)
    revision(session, card, OLD, created_at=T0 - timedelta(days=30))
    raised = revision(session, card, NEW, state="draft", created_at=T0)
    with pytest.raises(Conflict) as info:
        service.activate(session, ADMIN, card, raised.id, T0 + timedelta(days=6))
    assert (T0 + timedelta(days=7)).isoformat() in info.value.message
    assert raised.state == "draft"
    service.activate(session, ADMIN, card, raised.id, T0 + timedelta(days=7))
    assert raised.state == "active"
    cheaper = revision(session, card, [(*r[:2], r[2] - 1) for r in NEW], state="draft",
                       created_at=T0 + timedelta(days=8))
    service.activate(session, ADMIN, card, cheaper.id, T0 + timedelta(days=8))  # no notice
    assert cheaper.state == "active"


def test_schedule_and_due_activation(session: Session) -> None:
    card = customer(session, notice_days=7)
    revision(session, card, OLD, created_at=T0 - timedelta(days=30))
    draft = revision(session, card, NEW, state="draft", created_at=T0)
    with pytest.raises(ValidationFailed) as info:
        service.schedule(session, ADMIN, card, draft.id, T0 + timedelta(days=1), now=T0)
    assert list(info.value.errors) == ["date_live"]
    with pytest.raises(ValidationFailed) as info:  # the past
        service.schedule(session, ADMIN, card, draft.id, T0 + timedelta(days=10),
                         now=T0 + timedelta(days=11))
    assert "in the past" in info.value.errors["date_live"][0]
    live = T0 + timedelta(days=10)
    service.schedule(session, ADMIN, card, draft.id, live, now=T0)
    assert service.activate_due(session, live - timedelta(seconds=1)) == []
    assert draft.state == "draft"
    assert service.activate_due(session, live) == [draft.id]
    assert draft.state == "active" and draft.date_live is None
    with pytest.raises(Conflict):
        service.schedule(session, ADMIN, card, draft.id, None)


def test_delete_draft_only(session: Session) -> None:
    card = provider(session)
    active = revision(session, card, OLD)
    draft = service.create_draft_copy(session, ADMIN, card)
    draft_id = draft.id
    with pytest.raises(Conflict):
        service.delete_draft(session, ADMIN, card, active.id)
    service.delete_draft(session, ADMIN, card, draft_id)
    assert rows(session, draft_id) == []
    with pytest.raises(NotFound):
        service.get_revision(session, VIEWER, card, draft_id)
    with pytest.raises(NotFound):  # another card's revision
        service.get_revision(session, VIEWER, provider(session, "Other"), active.id)


def test_stale_when_a_parent_has_a_newer_active_revision(session: Session) -> None:
    a, b = provider(session, "A"), provider(session, "B")
    a1, b1 = revision(session, a, OLD), revision(session, b, OLD)
    card = customer(session, parents=[a, b])
    assert service.stale(session, card)  # never built
    revision(session, card, OLD, parent_revisions={str(a.id): a1.id, str(b.id): b1.id})
    assert not service.stale(session, card)
    b2 = revision(session, b, NEW, state="draft")
    assert not service.stale(session, card)  # a draft does not count
    service.activate(session, ADMIN, b, b2.id)
    assert service.stale(session, card)
    external = customer(session, "Ext", parents=[a], external=True)
    assert not service.stale(session, external)


def test_route_longest_prefix(session: Session) -> None:
    card = customer(session)
    with pytest.raises(NotFound):
        service.route(session, card, "4420")
    revision(session, card, [("44", "UK", 100), ("4420", "London", 90)],
             candidates=["7:80", "7:70,8:75"])
    found = service.route(session, card, "442071234567")
    assert found["prefix"] == "4420"
    assert found["candidates"] == [{"provider_card_id": 7, "cost": 70},
                                   {"provider_card_id": 8, "cost": 75}]
    assert service.route(session, card, "4430")["prefix"] == "44"
    with pytest.raises(NotFound):
        service.route(session, card, "33123")
    with pytest.raises(ValidationFailed):
        service.route(session, card, "+44")


def test_due_activation_skips_a_draft_inside_its_notice(session: Session) -> None:
    strict = customer(session, "Strict", notice_days=7)
    revision(session, strict, OLD, created_at=T0 - timedelta(days=30))
    early = revision(session, strict, NEW, state="draft", created_at=T0)
    early.date_live = T0 + timedelta(days=1)  # set behind the service's back
    card = provider(session)
    revision(session, card, OLD)
    due = revision(session, card, NEW, state="draft")
    due.date_live = T0 + timedelta(days=1)
    session.flush()
    assert service.activate_due(session, T0 + timedelta(days=2)) == [due.id]
    session.refresh(early)
    assert early.state == "draft" and due.state == "active"
    assert service.active_revision(session, strict) is not None
    assert service.activate_due(session, T0 + timedelta(days=7)) == [early.id]
