"""Email a customer card from its page (addresses, CSV or XLSX, a preview of the
change summary for the first address, Send), the send history shown on the card's
page, and "Email cards to customers" from the list (a confirmation with the counts,
then the job's progress page). On ``orchestrator.ratecards.card_email``."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orchestrator.errors import ValidationFailed
from orchestrator.ratecards import card_email, card_email_bulk, customer_cards, revisions
from webui.auth import login_required
from webui.customer_cards.common import actor, bp, require_write
from webui.customer_cards.jobs import job_url
from webui.db import db

BULK_KIND = "ratecards.email_bulk"
MESSAGE_RULE = "/messages/<int:message_id>"
HISTORY_ROWS = 10
MAX_TEXT = 10_000


def message_url(message_id: int | None) -> str | None:
    """The page of an outbox message, when the app has one."""
    if not message_id:
        return None
    for rule in current_app.url_map.iter_rules():
        if rule.rule == MESSAGE_RULE and rule.endpoint and "GET" in (rule.methods or ()):
            return url_for(rule.endpoint, message_id=message_id)
    return None


@bp.app_template_global("card_email_history")
def card_email_history(card_id: int, limit: int = HISTORY_ROWS) -> dict[str, Any]:
    """The newest sends of a card for its page (``customer_cards/email_history.html``)."""
    page = card_email.list_card_emails(db(), actor(), card_id, per_page=limit)
    rows = [item | {"message_url": message_url(item["message_id"])} for item in page.items]
    return {"rows": rows, "total": page.total}


def _render(card_id: int, *, addresses: str = "", fmt: str = "csv",
            errors: dict[str, list[str]] | None = None, preview: dict[str, Any] | None = None,
            status: int = 200) -> ResponseReturnValue:
    who = actor()
    session = db()
    card = customer_cards.get_customer_card(session, who, card_id)
    active = revisions.active_revision(session, card)
    return render_template(
        "customer_cards/email.html", card=customer_cards.to_dict(card), active=active,
        addresses=addresses, fmt=fmt, formats=card_email.FORMATS, errors=errors or {},
        preview=preview, can_write=who.can("write"),
        history=card_email_history(card.id, 50)), status


def _preview(card_id: int, addresses: str, fmt: str) -> dict[str, Any] | None:
    """The summary for the first address; raises ValidationFailed on bad input."""
    first = card_email.clean_addresses(addresses)[0]
    return card_email.preview(db(), actor(), card_id, first, fmt)


@bp.route("/customer-cards/<int:card_id>/email", methods=["GET", "POST"])
@login_required
def email(card_id: int) -> ResponseReturnValue:
    """GET the form; POST ``action=preview`` shows the summary, ``action=send`` sends."""
    if request.method == "GET":
        addresses = request.args.get("addresses", "")[:MAX_TEXT]
        fmt = request.args.get("format", "csv")
        return _render(card_id, addresses=addresses,
                       fmt=fmt if fmt in card_email.FORMATS else "csv")
    who = require_write()
    addresses = request.form.get("addresses", "")[:MAX_TEXT]
    fmt = request.form.get("format", "")
    try:
        if request.form.get("action") == "preview":
            return _render(card_id, addresses=addresses, fmt=fmt,
                           preview=_preview(card_id, addresses, fmt))
        rows = card_email.email_card(db(), who, card_id, addresses, fmt)
    except ValidationFailed as exc:
        db().rollback()
        return _render(card_id, addresses=addresses, fmt=fmt, errors=exc.errors,
                       status=422)
    sent_to = ", ".join(r.address for r in rows)
    flash(f"Rate card queued ({fmt.upper()}) to {sent_to}: the history below shows "
          "when it is delivered.", "info")
    return redirect(url_for("customer_cards.email", card_id=card_id))


@bp.route("/customer-cards/email-bulk", methods=["GET", "POST"])
@login_required
def email_bulk() -> ResponseReturnValue:
    """A confirmation with the counts, then the job (its progress page)."""
    who = require_write()
    cancel = url_for("customer_cards.index")
    recipients = card_email_bulk.plan(db())
    counts = card_email_bulk.plan_counts(recipients)
    skipped = [r for r in recipients if r.reason]
    fmt = request.form.get("format", "csv") if request.method == "POST" else "csv"
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            job = card_email_bulk.start_bulk(db(), who, fmt)
        except ValidationFailed as exc:
            db().rollback()
            errors = exc.errors
        else:
            return redirect(job_url(job.id, cancel))
    page = render_template("customer_cards/email_bulk.html", counts=counts,
                           skipped=skipped, fmt=fmt, formats=card_email.FORMATS,
                           errors=errors, cancel=cancel)
    return page, 422 if errors else 200


def messages_url() -> str | None:
    """The messages log filtered to rate cards, when the app has one."""
    for rule in current_app.url_map.iter_rules():
        if rule.rule == "/messages" and rule.endpoint and "GET" in (rule.methods or ()):
            return url_for(rule.endpoint, purpose="rate_card")
    return None


def bulk_links(job: dict[str, Any]) -> dict[str, Any] | None:
    """Links of the bulk job's page: back to the cards, what was sent and skipped."""
    result = job.get("result") or {}
    links: dict[str, Any] = {"title": "Rate cards emailed to customers",
                             "card": (url_for("customer_cards.index"),
                                      "Back to the customer cards")}
    if not result:
        return links
    sent, skipped = result.get("sent") or [], result.get("skipped") or []
    note = (f"{len(sent)} email{'s' if len(sent) != 1 else ''} queued to "
            f"{result.get('customers', 0)} customer(s); delivery is retried until sent.")
    if skipped:
        note += " Skipped: " + "; ".join(
            f"{s.get('customer')}" + (f" ({s['card']})" if s.get("card") else "")
            + f": {s.get('reason')}" for s in skipped[:50]) + (
            f"; and {len(skipped) - 50} more." if len(skipped) > 50 else ".")
    links["note"] = note
    found = messages_url()
    if found and sent:
        links["result"] = (found, "Follow the deliveries in the messages log")
    return links


def register() -> None:
    try:
        from webui.jobs_status import register_job_links
    except ImportError:  # the generic job page is not there
        return
    register_job_links(BULK_KIND, bulk_links)


register()
