"""Revision actions of a provider card: new draft copy, activate and delete (each
after a confirmation page), schedule date_live, and export of any revision."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orchestrator.errors import Conflict, ValidationFailed
from orchestrator.ratecards import imports, revisions
from orchestrator.ratecards import provider_cards as service
from webui.auth import login_required
from webui.db import db
from webui.provider_cards.common import actor, bp, errors_of, require_write, status_of
from webui.provider_cards.detail import render_detail, revision_view

EXPORT_FORMATS = ("csv", "xlsx", "orc")


def parse_date_live(text: str) -> datetime | None:
    """A ``datetime-local`` value (``2026-12-01T09:30``, taken as UTC) or empty (None)."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed.one("date_live", "must be a date and time such as "
                                   "2026-12-01 09:30 (UTC)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _back(card_id: int, message: str) -> ResponseReturnValue:
    flash(message, "info")
    return redirect(url_for("provider_cards.detail", card_id=card_id, tab="revisions"))


def _change(card_id: int, action: Callable[[], str],
            values: dict[str, Any] | None = None) -> ResponseReturnValue:
    """Run a service call; on success back to the Revisions tab, else show the refusal."""
    try:
        message = action()
    except (ValidationFailed, Conflict) as exc:
        db().rollback()
        return render_detail(card_id, "revisions", errors=errors_of(exc), values=values,
                             status=status_of(exc))
    return _back(card_id, message)


@bp.post("/provider-cards/<int:card_id>/revisions")
@login_required
def new_draft(card_id: int) -> ResponseReturnValue:
    who = require_write()

    def run() -> str:
        card = service.get_provider_card(db(), who, card_id)
        revision = revisions.create_draft_copy(db(), who, card)
        return f"Draft revision {revision.number} created ({revision.source})."
    return _change(card_id, run)


CONFIRMED = ("/provider-cards/<int:card_id>/revisions/<int:revision_id>/"
             "<any(activate, delete):action>")


@bp.route(CONFIRMED, methods=["GET", "POST"])
@login_required
def confirm(card_id: int, revision_id: int, action: str) -> ResponseReturnValue:
    """Activate or delete a revision: a confirmation page, then the POST does it."""
    who = require_write()
    card = service.get_provider_card(db(), who, card_id)
    revision = revisions.get_revision(db(), who, card, revision_id)
    number = revision.number
    if request.method == "POST":
        try:
            if action == "activate":
                revisions.activate(db(), who, card, revision_id)
            else:
                revisions.delete_draft(db(), who, card, revision_id)
        except (ValidationFailed, Conflict) as exc:
            db().rollback()
            page = render_template("provider_cards/confirm.html", card=service.to_dict(card),
                                   revision=revision_view(revision), action=action,
                                   active=None, refusal=str(exc))
            return page, status_of(exc)
        done = "is now active" if action == "activate" else "deleted"
        return _back(card_id, f"Revision {number} {done}.")
    active = revisions.active_revision(db(), card)
    return render_template("provider_cards/confirm.html", card=service.to_dict(card),
                           revision=revision_view(revision), action=action,
                           active=revision_view(active) if active else None, refusal=None)


@bp.post("/provider-cards/<int:card_id>/revisions/<int:revision_id>/schedule")
@login_required
def schedule(card_id: int, revision_id: int) -> ResponseReturnValue:
    who = require_write()
    typed = request.form.get("date_live", "")

    def run() -> str:
        when = parse_date_live(typed)
        card = service.get_provider_card(db(), who, card_id)
        if when is not None and when <= datetime.now(UTC):
            raise ValidationFailed.one("date_live", "must be in the future (or activate now)")
        revision = revisions.schedule(db(), who, card, revision_id, when)
        if when is None:
            return f"Revision {revision.number} is no longer scheduled."
        return (f"Revision {revision.number} goes live at "
                f"{when.strftime('%Y-%m-%d %H:%M')} UTC.")

    return _change(card_id, run, {"date_live": typed, "revision_id": revision_id})


@bp.get("/provider-cards/<int:card_id>/revisions/<int:revision_id>/export.<fmt>")
@login_required
def export(card_id: int, revision_id: int, fmt: str) -> ResponseReturnValue:
    if fmt not in EXPORT_FORMATS:
        abort(404)
    content, filename, mimetype = imports.export_revision(
        db(), actor(), kind="provider", card_id=card_id, revision_id=revision_id, format=fmt)
    return Response(content, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})
