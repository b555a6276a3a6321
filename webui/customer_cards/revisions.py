"""Revisions of a customer card: activate (with the notice period), schedule, delete a
draft, export CSV / XLSX / Open Rate Card JSON."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from orchestrator.errors import Conflict, ValidationFailed
from orchestrator.ratecards import customer_cards, imports, revisions
from webui.auth import login_required
from webui.customer_cards.common import actor, bp, confirm_page, require_write
from webui.db import db

DATE_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def _back(card_id: int) -> str:
    return url_for("customer_cards.detail", card_id=card_id, tab="revisions")


def parse_utc(text: str) -> datetime | None:
    """``2026-12-01T09:30`` (the datetime-local input), read as UTC; None if unreadable."""
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


@bp.route("/customer-cards/<int:card_id>/revisions/<int:revision_id>/activate",
          methods=["GET", "POST"])
@login_required
def activate(card_id: int, revision_id: int) -> ResponseReturnValue:
    who = require_write()
    card = customer_cards.get_customer_card(db(), who, card_id)
    revision = revisions.get_revision(db(), who, card, revision_id)
    title = f"Activate revision {revision.number}?"
    active = revisions.active_revision(db(), card)
    message = (f"Revision {revision.number} ({revision.row_count} rates) becomes the "
               "rates this card charges" + (f"; revision {active.number} is archived."
                                            if active else "."))
    action = url_for("customer_cards.activate", card_id=card_id, revision_id=revision_id)
    if request.method == "POST":
        try:
            revisions.activate(db(), who, card, revision_id)
        except (Conflict, ValidationFailed) as exc:
            db().rollback()
            refusal = exc.message if isinstance(exc, Conflict) else str(exc)
            return confirm_page(title, message, action, "Activate", _back(card_id),
                                refusal=refusal, status=409)
        flash(f"Revision {revision.number} is now active.", "info")
        return redirect(_back(card_id))
    return confirm_page(title, message, action, "Activate", _back(card_id))


@bp.post("/customer-cards/<int:card_id>/revisions/<int:revision_id>/schedule")
@login_required
def schedule(card_id: int, revision_id: int) -> ResponseReturnValue:
    who = require_write()
    card = customer_cards.get_customer_card(db(), who, card_id)
    text = request.form.get("date_live", "").strip()
    when = parse_utc(text) if text else None
    if text and when is None:
        flash("Date live: give a date and time such as 2026-12-01T09:30 (UTC).", "error")
        return redirect(_back(card_id))
    try:
        revision = revisions.schedule(db(), who, card, revision_id, when)
    except (Conflict, ValidationFailed) as exc:
        db().rollback()
        flash(f"Not scheduled: {exc.message if isinstance(exc, Conflict) else exc}", "error")
        return redirect(_back(card_id))
    flash(f"Revision {revision.number} goes live at {when:%Y-%m-%d %H:%M} UTC."
          if when else f"Revision {revision.number} is no longer scheduled.", "info")
    return redirect(_back(card_id))


@bp.route("/customer-cards/<int:card_id>/revisions/<int:revision_id>/delete",
          methods=["GET", "POST"])
@login_required
def delete_draft(card_id: int, revision_id: int) -> ResponseReturnValue:
    who = require_write()
    card = customer_cards.get_customer_card(db(), who, card_id)
    revision = revisions.get_revision(db(), who, card, revision_id)
    number = revision.number
    title = f"Delete draft revision {number}?"
    message = f"Its {revision.row_count} rates are deleted. It cannot be undone."
    action = url_for("customer_cards.delete_draft", card_id=card_id,
                     revision_id=revision_id)
    if request.method == "POST":
        try:
            revisions.delete_draft(db(), who, card, revision_id)
        except Conflict as exc:
            db().rollback()
            return confirm_page(title, message, action, "Delete draft", _back(card_id),
                                danger=True, refusal=exc.message, status=409)
        flash(f"Draft revision {number} deleted.", "info")
        return redirect(_back(card_id))
    return confirm_page(title, message, action, "Delete draft", _back(card_id), danger=True)


@bp.get("/customer-cards/<int:card_id>/revisions/<int:revision_id>/export.<fmt>")
@login_required
def export(card_id: int, revision_id: int, fmt: str) -> ResponseReturnValue:
    content, filename, media = imports.export_revision(
        db(), actor(), kind="customer", card_id=card_id, revision_id=revision_id, format=fmt)
    return Response(content, mimetype=media, headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})
