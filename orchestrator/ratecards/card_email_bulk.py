"""Bulk: send each customer the card of its routes, as one background job.

A customer gets one email per distinct customer card that its ingress routes use
(``ingress_routes.tariff_id``), at the customer's email address. Customers without an
email address or without routes, and cards without an active revision, are skipped and
reported with the reason. Each customer's emails are queued in their own transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.customers.models import Customer
from orchestrator.errors import NotFound, ServiceError, ValidationFailed
from orchestrator.jobs.models import Job
from orchestrator.jobs.queue import JobContext
from orchestrator.ratecards.card_email import card_email_to_dict, clean_format, email_card
from orchestrator.ratecards.card_email_summary import SummaryCache
from orchestrator.ratecards.models import CustomerCard
from orchestrator.routing.models import IngressRoute

MAX_CUSTOMERS = 10_000


@dataclass
class Recipient:
    customer_id: int
    name: str
    email: str
    card_ids: list[int] = field(default_factory=list)
    reason: str = ""  # why nothing is sent ("" = send)


def clean_customer_ids(session: Session, value: Any) -> list[int] | None:
    """None (every customer) or the given ids, each existing (404 otherwise)."""
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not value or len(value) > MAX_CUSTOMERS:
        raise ValidationFailed.one("customer_ids", f"give 1 to {MAX_CUSTOMERS} customer ids "
                                   "(or none for every customer)")
    ids: list[int] = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item < 2**31:
            raise ValidationFailed.one("customer_ids", f"{item!r} is not a customer id")
        if item not in ids:
            ids.append(item)
    known = set(session.scalars(select(Customer.id).where(Customer.id.in_(ids))))
    for item in ids:
        if item not in known:
            raise NotFound("customer", item)
    return ids


def plan(session: Session, customer_ids: list[int] | None = None) -> list[Recipient]:
    """Every customer (or the given ones) by name, with the cards of its routes.
    Inactive customers are skipped unless named in ``customer_ids``."""
    stmt = select(Customer.id, Customer.name, Customer.email, Customer.status) \
        .order_by(Customer.name)
    if customer_ids is not None:
        stmt = stmt.where(Customer.id.in_(customer_ids))
    cards: dict[int, list[int]] = {}
    route_stmt = select(IngressRoute.customer_id, IngressRoute.tariff_id).distinct() \
        .order_by(IngressRoute.customer_id, IngressRoute.tariff_id)
    if customer_ids is not None:
        route_stmt = route_stmt.where(IngressRoute.customer_id.in_(customer_ids))
    for customer_id, tariff_id in session.execute(route_stmt):
        cards.setdefault(customer_id, []).append(tariff_id)
    out = []
    for customer_id, name, email, status in session.execute(stmt):
        recipient = Recipient(customer_id, name, (email or "").strip().lower(),
                              cards.get(customer_id, []))
        if status == "inactive" and customer_ids is None:
            recipient.reason = "inactive customer (name it to send anyway)"
        elif not recipient.email:
            recipient.reason = "no email address"
        elif not recipient.card_ids:
            recipient.reason = "no ingress route (no card to send)"
        out.append(recipient)
    return out


def plan_counts(recipients: list[Recipient]) -> dict[str, int]:
    """For the confirmation: customers to email, emails (one per card), skipped."""
    sending = [r for r in recipients if not r.reason]
    return {"customers": len(sending), "emails": sum(len(r.card_ids) for r in sending),
            "cards": len({c for r in sending for c in r.card_ids}),
            "skipped": len(recipients) - len(sending)}


def start_bulk(session: Session, actor: Actor, fmt: Any,
               customer_ids: Any = None) -> Job:
    """Queue the ``ratecards.email_bulk`` job (checked first: nothing to send -> 422)."""
    actor.require("write")
    errors: dict[str, list[str]] = {}
    try:
        fmt = clean_format(fmt)
    except ValidationFailed as exc:
        errors |= exc.errors
    ids = clean_customer_ids(session, customer_ids)
    if errors:
        raise ValidationFailed(errors)
    if plan_counts(plan(session, ids))["emails"] == 0:
        raise ValidationFailed.one("customer_ids", "no customer has both an email address "
                                   "and an ingress route: nothing to send")
    from orchestrator.ratecards import imports, tasks
    return tasks.email_bulk.enqueue(actor, {"format": fmt, "customer_ids": ids,
                                            "actor": imports.actor_params(actor)},
                                    session=session)


def run_bulk(ctx: JobContext, actor: Actor) -> dict[str, Any]:
    """The job: one transaction per customer; progress per customer."""
    actor.require("write")
    fmt = clean_format(ctx.params.get("format"))
    ids = ctx.params.get("customer_ids")
    with ctx.sessions() as session:
        recipients = plan(session, [int(i) for i in ids] if ids is not None else None)
        names = {int(i): str(n) for i, n in session.execute(
            select(CustomerCard.id, CustomerCard.name))}
    sent: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    summaries: SummaryCache = {}  # customers on the same card and last copy share one
    total = max(1, len(recipients))
    for n, recipient in enumerate(recipients):
        ctx.report(100 * n / total, f"customer {n + 1} of {len(recipients)}: "
                   f"{recipient.name}")
        who = {"customer_id": recipient.customer_id, "customer": recipient.name}
        if recipient.reason:
            skipped.append(who | {"reason": recipient.reason})
            continue
        for card_id in recipient.card_ids:
            card = {"card_id": card_id, "card": names.get(card_id, f"#{card_id}")}
            try:
                with ctx.sessions.begin() as session:
                    [row] = email_card(session, actor, card_id, [recipient.email], fmt,
                                       customer_id=recipient.customer_id,
                                       greeting=recipient.name, cache=summaries)
                    view = card_email_to_dict(row)
            except ServiceError as exc:
                reason = ("; ".join(m for ms in exc.errors.values() for m in ms)
                          if isinstance(exc, ValidationFailed) else str(exc))
                skipped.append(who | card | {"reason": reason})
                continue
            sent.append(who | card | {"address": recipient.email,
                                      "card_email_id": view["id"],
                                      "message_id": view["message_id"],
                                      "changes": view["changes"]})
    ctx.report(100, f"{len(sent)} emails queued, {len(skipped)} skipped")
    return {"format": fmt, "sent": sent, "skipped": skipped,
            "customers": len({s["customer_id"] for s in sent})}
