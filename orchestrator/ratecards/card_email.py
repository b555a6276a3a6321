"""Email a customer card: its active revision as a CSV or XLSX attachment, with the
changes since the card last sent to each address in the body (PRODUCT §1 "Email rate
card"). Every send is a ``card_emails`` row linked to its outbox message.

The attachment is not stored: the message keeps ``{"kind": "rate_card", "revision_id",
"format", "filename"}`` and the resolver registered here exports the revision when the
delivery job sends the email (the worker imports this module through
``orchestrator.ratecards.tasks``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.customers.models import Customer
from orchestrator.customers.validation import BadValue
from orchestrator.customers.validation import email as check_email
from orchestrator.errors import ValidationFailed
from orchestrator.listing import Page
from orchestrator.notify import attachments
from orchestrator.notify.models import Message
from orchestrator.notify.outbox import queue_email
from orchestrator.ratecards import customer_cards, revisions
from orchestrator.ratecards.card_email_summary import (
    Summary,
    SummaryCache,
    body,
    display_name,
    subject,
    summarize,
)
from orchestrator.ratecards.deck.store import read_rates
from orchestrator.ratecards.deck.writer import export_bytes
from orchestrator.ratecards.models import CardEmail, CustomerCard, RateRevision

FORMATS = ("csv", "xlsx")
MEDIA = {"csv": "text/csv",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
MAX_ADDRESSES = 20
ATTACHMENT_KIND = "rate_card"
_SEPARATORS = re.compile(r"[\s,;]+")


def clean_addresses(value: str | Iterable[Any] | None) -> list[str]:
    """1-20 email addresses (a list, or text separated by commas, semicolons or
    spaces), lower-cased, each once, in the order given."""
    if value is None:
        raw: list[Any] = []
    elif isinstance(value, str):
        raw = [p for p in _SEPARATORS.split(value) if p]
    else:
        raw = list(value)
    bad, out = [], []
    for item in raw:
        if not isinstance(item, str):
            bad.append(f"{item!r} is not text")
            continue
        address = item.strip().lower()
        try:
            check_email(address)
        except BadValue:
            bad.append(f"{item.strip()!r} is not an email address like name@example.com")
            continue
        if address and address not in out:
            out.append(address)
    if bad:
        raise ValidationFailed({"addresses": bad})
    if not 1 <= len(out) <= MAX_ADDRESSES:
        raise ValidationFailed.one("addresses", f"give 1 to {MAX_ADDRESSES} email addresses "
                                   f"({len(out)} given)")
    return out


def clean_format(value: Any) -> str:
    if value not in FORMATS:
        raise ValidationFailed.one("format", f"must be one of: {', '.join(FORMATS)}")
    return str(value)


def sendable_revision(session: Session, card: CustomerCard) -> RateRevision:
    revision = revisions.active_revision(session, card)
    if revision is None:
        raise ValidationFailed.one("card", "the card has no active revision: build or "
                                   "activate one first")
    return revision


def attachment_name(card: CustomerCard, revision: RateRevision, fmt: str) -> str:
    """``<card>-<yyyymmdd>.<format>``: the public name made file-safe, the live date."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", display_name(card)).strip("_")[:60] or "rates"
    moment = revision.date_live or revision.activated_at or revision.created_at
    return f"{safe}-{moment:%Y%m%d}.{fmt}"


def last_sent(session: Session, card_id: int, address: str
              ) -> tuple[int | None, Any] | None:
    """(revision id, sent at) of the newest card sent to ``address``, None if none.
    A send whose message failed (never delivered) does not count."""
    row = session.execute(
        select(CardEmail.revision_id, CardEmail.created_at)
        .outerjoin(Message, Message.id == CardEmail.message_id)
        .where(CardEmail.customer_card_id == card_id, CardEmail.address == address,
               or_(Message.id.is_(None), Message.status != "failed"))
        .order_by(CardEmail.id.desc()).limit(1)).first()
    return (row[0], row[1]) if row is not None else None


def customer_of(session: Session, address: str) -> tuple[int, str] | None:
    """(id, name) of the one customer whose email is ``address``, else None."""
    found = session.execute(select(Customer.id, Customer.name).where(
        func.lower(Customer.email) == address).limit(2)).all()
    return (int(found[0][0]), str(found[0][1])) if len(found) == 1 else None


def preview(session: Session, actor: Actor, card_id: int, address: str,
            fmt: str = "csv") -> dict[str, Any]:
    """What ``email_card`` would send to ``address`` (nothing is queued or recorded)."""
    actor.require("read")
    try:
        [address] = clean_addresses([address])
    except ValidationFailed as exc:
        raise ValidationFailed({"address": exc.errors["addresses"]}) from None
    fmt = clean_format(fmt)
    card = customer_cards.get_customer_card(session, actor, card_id)
    revision = sendable_revision(session, card)
    summary = summarize(session, card, revision, last_sent(session, card.id, address))
    customer = customer_of(session, address)
    return {"address": address, "subject": subject(summary),
            "body": body(summary, customer[1] if customer else ""),
            "changes": summary.record(),
            "filename": attachment_name(card, revision, fmt),
            "revision_id": revision.id, "revision_number": revision.number}


def _send_one(session: Session, actor: Actor, card: CustomerCard, revision: RateRevision,
              address: str, fmt: str, customer_id: int | None,
              greeting: str, cache: SummaryCache) -> tuple[CardEmail, Summary]:
    summary = summarize(session, card, revision, last_sent(session, card.id, address),
                        cache)
    if customer_id is None:
        customer = customer_of(session, address)
        if customer is not None:
            customer_id, greeting = customer[0], greeting or customer[1]
    message = queue_email(
        session, actor, address, subject(summary), body(summary, greeting),
        purpose="rate_card", customer_id=customer_id,
        attachment={"kind": ATTACHMENT_KIND, "revision_id": revision.id, "format": fmt,
                    "filename": attachment_name(card, revision, fmt)})
    sent = CardEmail(customer_card_id=card.id, revision_id=revision.id, address=address,
                     format=fmt, changes=summary.record(), message_id=message.id,
                     created_by=actor.username[:64])
    session.add(sent)
    session.flush()
    return sent, summary


def email_card(session: Session, actor: Actor, card_id: int, addresses: Any, fmt: Any, *,
               customer_id: int | None = None, greeting: str = "",
               cache: SummaryCache | None = None) -> list[CardEmail]:
    """Queue the card's active revision to each address (1-20) as ``fmt`` (csv|xlsx),
    each with its own change summary; returns the ``card_emails`` rows (flushed). An
    address that is the email of exactly one customer is greeted by that customer's
    name and its message is filed under that customer.

    All or nothing: every input is checked before anything is queued, and the emails
    go out only when the caller's transaction commits. ``cache``: share the change
    summaries between calls (bulk sends).
    """
    actor.require("write")
    errors: dict[str, list[str]] = {}
    cleaned: list[str] = []
    try:
        cleaned = clean_addresses(addresses)
    except ValidationFailed as exc:
        errors |= exc.errors
    try:
        fmt = clean_format(fmt)
    except ValidationFailed as exc:
        errors |= exc.errors
    card = customer_cards.get_customer_card(session, actor, card_id)
    if errors:
        raise ValidationFailed(errors)
    revision = sendable_revision(session, card)
    shared: SummaryCache = cache if cache is not None else {}
    rows = [_send_one(session, actor, card, revision, address, fmt, customer_id,
                      greeting, shared)[0] for address in cleaned]
    audit.record(session, actor, "email", "customer_card", card.id,
                 f"rate card {card.name} revision {revision.number} emailed ({fmt}) to "
                 f"{', '.join(cleaned)}"[:255],
                 after={"addresses": cleaned, "format": fmt, "revision": revision.number,
                        "card_emails": [r.id for r in rows]})
    return rows


def card_email_to_dict(row: CardEmail, message: Message | None = None,
                       revision_number: int | None = None) -> dict[str, Any]:
    return {
        "id": row.id, "card_id": row.customer_card_id, "address": row.address,
        "format": row.format, "revision_id": row.revision_id,
        "revision_number": revision_number, "changes": row.changes or {},
        "message_id": row.message_id,
        "status": message.status if message is not None else "unknown",
        "last_error": message.last_error if message is not None else "",
        "sent_at": revisions.aware(message.sent_at)
        if message is not None and message.sent_at else None,
        "created_by": row.created_by, "created_at": revisions.aware(row.created_at)}


def sends_to_dicts(session: Session, rows: list[CardEmail]) -> list[dict[str, Any]]:
    """The rows with their message status and revision number."""
    messages = {m.id: m for m in session.scalars(select(Message).where(
        Message.id.in_([r.message_id for r in rows if r.message_id])))}
    numbers = {int(i): int(n) for i, n in session.execute(
        select(RateRevision.id, RateRevision.number).where(
            RateRevision.id.in_([r.revision_id for r in rows if r.revision_id])))}
    return [card_email_to_dict(r, messages.get(r.message_id or 0),
                               numbers.get(r.revision_id or 0)) for r in rows]


def list_card_emails(session: Session, actor: Actor, card_id: int, *, page: int = 1,
                     per_page: int = 50) -> Page[dict[str, Any]]:
    """The sends of a card, newest first, with each message's delivery status."""
    actor.require("read")
    errors: dict[str, list[str]] = {}
    if page < 1:
        errors["page"] = ["must be 1 or more"]
    if not 1 <= per_page <= 500:
        errors["per_page"] = ["must be between 1 and 500"]
    if errors:
        raise ValidationFailed(errors)
    card = customer_cards.get_customer_card(session, actor, card_id)
    total = session.scalar(select(func.count()).select_from(CardEmail).where(
        CardEmail.customer_card_id == card.id)) or 0
    rows = list(session.scalars(select(CardEmail).where(
        CardEmail.customer_card_id == card.id).order_by(CardEmail.id.desc())
        .limit(per_page).offset((page - 1) * per_page)))
    return Page(sends_to_dicts(session, rows), int(total), page, per_page)


def rate_card_attachment(session: Session, spec: dict[str, Any]) -> attachments.Attachment:
    """The resolver of ``rate_card`` attachments: the revision exported as CSV/XLSX."""
    fmt = str(spec.get("format", ""))
    if fmt not in FORMATS:
        raise ValueError(f"rate card attachment: unknown format {fmt!r}")
    revision = session.get(RateRevision, int(spec.get("revision_id") or 0))
    if revision is None:
        raise ValueError("rate card attachment: the revision no longer exists")
    frame = read_rates(session.connection(), revision.id)
    filename = str(spec.get("filename") or f"rates-{revision.id}.{fmt}")
    return filename, MEDIA[fmt], export_bytes(frame, fmt)


attachments.register(ATTACHMENT_KIND, rate_card_attachment)
