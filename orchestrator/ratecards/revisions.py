"""Revisions of a card (draft -> active -> archived), their rows, changes and routing.

Works on either kind of card (ProviderCard or CustomerCard). Row work is SQL over
``rates`` (copy with one INSERT .. SELECT, change classification with joins on the
prefix), never row by row in Python. Money stays integer units of 10^-8 here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, insert, literal, select, text, update
from sqlalchemy.orm import Session

from orchestrator.actor import SYSTEM, Actor
from orchestrator.audit import service as audit
from orchestrator.carriers.service import valid_id
from orchestrator.errors import Conflict, NotFound, ServiceError, ValidationFailed
from orchestrator.listing import MAX_PER_PAGE, Page, like_pattern
from orchestrator.ratecards.models import (
    CHANGE_KINDS,
    CustomerCard,
    ProviderCard,
    Rate,
    RateRevision,
)

Card = ProviderCard | CustomerCard
ROW_COLUMNS = ("prefix", "name", "rate", "inter", "intra", "mcd", "pulse", "connect_fee",
               "status", "candidates")
MAX_NUMBER_DIGITS = 32


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _owner(card: Card) -> ColumnElement[bool]:
    if isinstance(card, ProviderCard):
        return RateRevision.provider_card_id == card.id
    return RateRevision.customer_card_id == card.id


def _kind(card: Card) -> str:
    return "provider card" if isinstance(card, ProviderCard) else "customer card"


def revision_to_dict(revision: RateRevision) -> dict[str, Any]:
    return {"id": revision.id, "number": revision.number, "state": revision.state,
            "date_live": revision.date_live and aware(revision.date_live).isoformat(),
            "activated_at": revision.activated_at and aware(revision.activated_at).isoformat(),
            "row_count": revision.row_count, "source": revision.source}


def list_revisions(session: Session, actor: Actor, card: Card) -> list[RateRevision]:
    """Newest first."""
    actor.require("read")
    return list(session.scalars(select(RateRevision).where(_owner(card))
                                .order_by(RateRevision.number.desc())))


def get_revision(session: Session, actor: Actor, card: Card, revision_id: int) -> RateRevision:
    actor.require("read")
    revision = session.get(RateRevision, revision_id) if valid_id(revision_id) else None
    owner = None if revision is None else (
        revision.provider_card_id if isinstance(card, ProviderCard)
        else revision.customer_card_id)
    if revision is None or owner != card.id:
        raise NotFound("revision", revision_id)
    return revision


def active_revision(session: Session, card: Card) -> RateRevision | None:
    return session.scalar(select(RateRevision).where(_owner(card),
                                                     RateRevision.state == "active"))


def next_number(session: Session, card: Card) -> int:
    return int(session.scalar(select(func.coalesce(func.max(RateRevision.number), 0))
                              .where(_owner(card))) or 0) + 1


def new_revision(session: Session, card: Card, source: str) -> RateRevision:
    """An empty draft numbered after the card's last revision (for the importer/build)."""
    revision = RateRevision(number=next_number(session, card), state="draft",
                            source=source[:255])
    if isinstance(card, ProviderCard):
        revision.provider_card_id = card.id
    else:
        revision.customer_card_id = card.id
    session.add(revision)
    session.flush()
    return revision


def create_draft_copy(session: Session, actor: Actor, card: Card) -> RateRevision:
    """A new draft holding a copy of the active revision's rows (empty without one)."""
    actor.require("write")
    active = active_revision(session, card)
    revision = new_revision(session, card, f"copy of {active.number}" if active else "empty")
    if active is not None:
        columns = [getattr(Rate, c) for c in ROW_COLUMNS]
        session.execute(insert(Rate).from_select(
            ["revision_id", *ROW_COLUMNS],
            select(literal(revision.id), *columns).where(
                Rate.revision_id == active.id)))
        revision.row_count = active.row_count
        revision.parent_revisions = active.parent_revisions
    session.flush()
    audit.record(session, actor, "create", "rate_revision", revision.id,
                 f"revision {revision.number} of {_kind(card)} {card.name} created "
                 f"({revision.source})", after=revision_to_dict(revision))
    return revision


def notice_until(session: Session, card: Card, revision: RateRevision) -> datetime | None:
    """Earliest activation time when a customer revision raises or closes rates."""
    if not isinstance(card, CustomerCard) or card.notice_days <= 0:
        return None
    active = active_revision(session, card)
    if active is None or active.id == revision.id:
        return None
    counts = classify_changes(session, revision.id, active.id)
    if counts["increase"] + counts["closed"] == 0:
        return None
    return aware(revision.created_at) + timedelta(days=card.notice_days)


def activate(session: Session, actor: Actor, card: Card, revision_id: int,
             now: datetime | None = None) -> RateRevision:
    """Make a draft (or an archived revision, to roll back) the active one."""
    actor.require("write")
    revision = get_revision(session, actor, card, revision_id)
    now = aware(now or datetime.now(UTC))
    if revision.state == "active":
        raise Conflict("state", f"revision {revision.number} is already active")
    earliest = notice_until(session, card, revision)
    if earliest is not None and now < earliest:
        raise Conflict("notice_days", f"revision {revision.number} raises or closes rates: "
                       f"with the card's notice period it may go live from "
                       f"{earliest.isoformat()}")
    previous = active_revision(session, card)
    revision.changes = classify_changes(session, revision.id,
                                        previous.id if previous else None)
    if previous is not None:
        session.execute(update(RateRevision).where(RateRevision.id == previous.id)
                        .values(state="archived"))
        session.expire(previous)
    revision.state = "active"
    revision.activated_at = now
    revision.date_live = None
    session.flush()
    audit.record(session, actor, "activate", "rate_revision", revision.id,
                 f"revision {revision.number} of {_kind(card)} {card.name} activated",
                 before={"active": previous.number if previous else None},
                 after={"active": revision.number})
    return revision


def schedule(session: Session, actor: Actor, card: Card, revision_id: int,
             date_live: datetime | None, now: datetime | None = None) -> RateRevision:
    """Set (or clear, None) when a draft goes live by itself."""
    actor.require("write")
    revision = get_revision(session, actor, card, revision_id)
    if revision.state != "draft":
        raise Conflict("state", f"revision {revision.number} is {revision.state}: only a "
                       "draft can be scheduled")
    if date_live is not None:
        date_live = aware(date_live)
        # A minute of grace: a job queued with a near time may run a little later.
        if date_live < aware(now or datetime.now(UTC)) - timedelta(minutes=1):
            raise ValidationFailed.one("date_live", "is in the past: give a future time, "
                                       "or activate the revision now")
        earliest = notice_until(session, card, revision)
        if earliest is not None and date_live < earliest:
            raise ValidationFailed.one("date_live", "this revision raises or closes rates: "
                                       f"it may go live from {earliest.isoformat()}")
    before = revision_to_dict(revision)
    revision.date_live = date_live
    session.flush()
    audit.record(session, actor, "update", "rate_revision", revision.id,
                 f"revision {revision.number} of {_kind(card)} {card.name} scheduled",
                 before=before, after=revision_to_dict(revision))
    return revision


def delete_draft(session: Session, actor: Actor, card: Card, revision_id: int) -> None:
    actor.require("write")
    revision = get_revision(session, actor, card, revision_id)
    if revision.state != "draft":
        raise Conflict("state", f"revision {revision.number} is {revision.state}: only a "
                       "draft can be deleted")
    before = revision_to_dict(revision)
    session.execute(delete(Rate).where(Rate.revision_id == revision.id))
    session.delete(revision)
    session.flush()
    audit.record(session, actor, "delete", "rate_revision", revision_id,
                 f"draft revision {before['number']} of {_kind(card)} {card.name} deleted",
                 before=before)


def delete_all(session: Session, card: Card) -> None:
    """Every revision and row of a card (before the card itself is deleted)."""
    owned = select(RateRevision.id).where(_owner(card))
    session.execute(delete(Rate).where(Rate.revision_id.in_(owned)))
    session.execute(delete(RateRevision).where(_owner(card)),
                    execution_options={"synchronize_session": False})


def card_of(session: Session, revision: RateRevision) -> Card:
    card: Card | None = (session.get(ProviderCard, revision.provider_card_id)
                         if revision.provider_card_id is not None
                         else session.get(CustomerCard, revision.customer_card_id))
    assert card is not None  # the foreign keys hold
    return card


def activate_due(session: Session, now: datetime | None = None) -> list[int]:
    """Activate every draft whose date_live has come (the periodic job); ids activated.

    A draft still inside its notice period stays a draft and is retried next time.
    """
    now = aware(now or datetime.now(UTC))
    due = session.scalars(select(RateRevision).where(
        RateRevision.state == "draft", RateRevision.date_live.is_not(None),
        RateRevision.date_live <= now).order_by(RateRevision.date_live,
                                                RateRevision.number)).all()
    done: list[int] = []
    for revision in due:
        try:
            with session.begin_nested():
                activate(session, SYSTEM, card_of(session, revision), revision.id, now)
            done.append(revision.id)
        except ServiceError:
            continue
    return done


def stale(session: Session, card: CustomerCard) -> bool:
    """A built card whose parents' active revisions are not those of its last build."""
    if card.external:
        return False
    parent_ids = [p.provider_card_id for p in card.parents]
    current = {str(card_id): revision_id for card_id, revision_id in session.execute(
        select(RateRevision.provider_card_id, RateRevision.id).where(
            RateRevision.state == "active", RateRevision.provider_card_id.in_(parent_ids)))}
    built = session.scalar(select(RateRevision).where(_owner(card), RateRevision.state
                                                      != "archived")
                           .order_by(RateRevision.number.desc()).limit(1))
    if built is None:
        return bool(current)
    recorded = {str(k): v for k, v in (built.parent_revisions or {}).items()}
    return current != recorded


def parse_candidates(value: str | None) -> list[dict[str, int]]:
    """``"3:1200000,5:1300000"`` -> [{provider_card_id: 3, cost: 1200000}, ...]."""
    out: list[dict[str, int]] = []
    for item in filter(None, (value or "").split(",")):
        card_id, _, cost = item.partition(":")
        if card_id.strip().isdigit() and cost.strip().lstrip("-").isdigit():
            out.append({"provider_card_id": int(card_id), "cost": int(cost)})
    return out


def _page_window(page: int, per_page: int) -> None:
    errors: dict[str, list[str]] = {}
    if page < 1:
        errors["page"] = ["must be 1 or more"]
    if not 1 <= per_page <= MAX_PER_PAGE:
        errors["per_page"] = [f"must be between 1 and {MAX_PER_PAGE}"]
    if errors:
        raise ValidationFailed(errors)


def prefix_bounds(prefix: str) -> tuple[str, str]:
    """Key range of every prefix starting with ``prefix`` (':' sorts after '9')."""
    if not (prefix.isdigit() and prefix.isascii()):
        raise ValidationFailed.one("prefix", "must be digits only")
    return prefix, prefix + ":"


def rates_page(session: Session, revision_id: int, *, prefix: str = "", q: str = "",
               page: int = 1, per_page: int = 50) -> Page[dict[str, Any]]:
    """One page of a revision's rows in prefix order; ``prefix`` starts, ``q`` in name."""
    _page_window(page, per_page)
    stmt: Select[Any] = select(*(getattr(Rate, c) for c in ROW_COLUMNS)).where(
        Rate.revision_id == revision_id)
    if prefix:
        low, high = prefix_bounds(prefix)
        stmt = stmt.where(Rate.prefix >= low, Rate.prefix < high)
    if q.strip():
        stmt = stmt.where(func.lower(Rate.name).like(like_pattern(q.strip().lower()),
                                                     escape="\\"))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(stmt.order_by(Rate.prefix).limit(per_page)
                           .offset((page - 1) * per_page)).mappings().all()
    items = [dict(row) | {"candidates": parse_candidates(row["candidates"])} for row in rows]
    return Page(items, int(total), page, per_page)


_DIFF = """WITH diff AS (
 SELECT n.prefix AS prefix, n.name AS name, o.rate AS old_rate, n.rate AS new_rate,
  o.inter AS old_inter, n.inter AS new_inter, o.intra AS old_intra, n.intra AS new_intra,
  CASE WHEN o.prefix IS NULL THEN 'new'
   WHEN n.status = 'blocked' AND o.status <> 'blocked' THEN 'closed'
   WHEN o.status = 'blocked' AND n.status <> 'blocked' THEN 'new'
   WHEN n.rate > o.rate OR n.inter > o.inter OR n.intra > o.intra THEN 'increase'
   WHEN n.rate < o.rate OR n.inter < o.inter OR n.intra < o.intra THEN 'decrease'
   ELSE 'unchanged' END AS kind
 FROM rates n LEFT JOIN rates o ON o.revision_id = :old AND o.prefix = n.prefix
 WHERE n.revision_id = :new
 UNION ALL
 SELECT o.prefix, o.name, o.rate, NULL, o.inter, NULL, o.intra, NULL, 'closed'
 FROM rates o WHERE o.revision_id = :old AND NOT EXISTS
  (SELECT 1 FROM rates n WHERE n.revision_id = :new AND n.prefix = o.prefix))
"""


def classify_changes(session: Session, new_id: int, old_id: int | None) -> dict[str, int]:
    """Counts of new/increase/decrease/unchanged/closed prefixes of new against old."""
    counts = dict.fromkeys(CHANGE_KINDS, 0)
    for kind, count in session.execute(text(_DIFF + "SELECT kind, COUNT(*) FROM diff "
                                            "GROUP BY kind"),
                                       {"new": new_id, "old": old_id or 0}):
        counts[str(kind)] = int(count)
    return counts


def baseline(session: Session, revision: RateRevision) -> RateRevision | None:
    """What a revision is compared with: the active one for a draft, else the one
    active before it."""
    owner = (RateRevision.provider_card_id == revision.provider_card_id
             if revision.provider_card_id is not None
             else RateRevision.customer_card_id == revision.customer_card_id)
    stmt = select(RateRevision).where(owner, RateRevision.id != revision.id)
    if revision.state == "draft" or revision.activated_at is None:
        return session.scalar(stmt.where(RateRevision.state == "active"))
    return session.scalar(stmt.where(RateRevision.activated_at < revision.activated_at)
                          .order_by(RateRevision.activated_at.desc()).limit(1))


def store_changes(session: Session, revision: RateRevision) -> dict[str, int]:
    """Classify against the baseline and keep the counts on the revision."""
    base = baseline(session, revision)
    revision.changes = classify_changes(session, revision.id, base.id if base else None)
    session.flush()
    return revision.changes


def changes_page(session: Session, new_id: int, old_id: int | None, *, kind: str = "",
                 prefix: str = "", page: int = 1,
                 per_page: int = 50) -> Page[dict[str, Any]]:
    """One page of the diff in prefix order, filtered by kind and starting prefix."""
    _page_window(page, per_page)
    where, params = [], {"new": new_id, "old": old_id or 0}
    if kind:
        if kind not in CHANGE_KINDS:
            raise ValidationFailed.one("kind", f"must be one of: {', '.join(CHANGE_KINDS)}")
        where.append("kind = :kind")
        params["kind"] = kind  # type: ignore[assignment]
    if prefix:
        params["low"], params["high"] = prefix_bounds(prefix)  # type: ignore[assignment]
        where.append("prefix >= :low AND prefix < :high")
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    total = session.scalar(text(_DIFF + "SELECT COUNT(*) FROM diff" + clause), params) or 0
    rows = session.execute(text(_DIFF + "SELECT * FROM diff" + clause + " ORDER BY prefix "
                                f"LIMIT {int(per_page)} OFFSET {(page - 1) * per_page}"),
                           params).mappings().all()
    return Page([dict(r) for r in rows], int(total), page, per_page)


def route(session: Session, card: Card, number: str) -> dict[str, Any]:
    """The active revision's longest-prefix row for ``number``, candidates parsed."""
    digits = number.strip()
    if not digits or not (digits.isdigit() and digits.isascii()) \
            or len(digits) > MAX_NUMBER_DIGITS:
        raise ValidationFailed.one("prefix", f"must be 1-{MAX_NUMBER_DIGITS} digits")
    active = active_revision(session, card)
    if active is None:
        raise NotFound("active revision of card", card.id)
    heads = [digits[:i] for i in range(1, min(len(digits), 20) + 1)]
    row = session.execute(select(*(getattr(Rate, c) for c in ROW_COLUMNS)).where(
        Rate.revision_id == active.id, Rate.prefix.in_(heads))
        .order_by(func.length(Rate.prefix).desc()).limit(1)).mappings().first()
    if row is None:
        raise NotFound("prefix matching", digits)
    return dict(row) | {"candidates": parse_candidates(row["candidates"]),
                        "revision_id": active.id}
