"""Adding, editing and deleting a provider card (pages with inline field errors).

The currency is fixed once the card exists: the edit form shows it read-only and
does not send it.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from orchestrator.errors import Conflict, ValidationFailed
from orchestrator.ratecards import provider_cards as service
from orchestrator.ratecards import revisions
from orchestrator.ratecards.models import DIALING, PRESENTATIONS
from webui.auth import login_required
from webui.db import db
from webui.provider_cards.common import (
    bp,
    carrier_choices,
    errors_of,
    require_write,
    status_of,
)

FIELDS = ("name", "carrier_id", "currency", "tech_prefix", "force_presentation", "dialing",
          "notes_public", "notes_private")


def form_data(form: MultiDict[str, str], editing: bool) -> dict[str, Any]:
    """The service's input from the form (the currency only when creating)."""
    data: dict[str, Any] = {}
    for name in FIELDS:
        if name == "currency" and editing:
            continue
        value = form.get(name, "")
        if name == "carrier_id":
            value = value.strip()
            data[name] = int(value) if value.isdigit() else (value or None)
            continue
        data[name] = value
    if data.get("carrier_id") is None and not editing:
        data.pop("carrier_id")  # the service names it as required
    return data


def _render(values: dict[str, Any], errors: dict[str, list[str]], card_id: int | None,
            status: int = 200) -> ResponseReturnValue:
    who = require_write()
    other = {f: m for f, m in errors.items() if f not in FIELDS}
    page = render_template("provider_cards/form.html", values=values, errors=errors,
                           other_errors=other, card_id=card_id,
                           carriers=carrier_choices(db(), who), presentations=PRESENTATIONS,
                           dialings=DIALING)
    return page, status


def _typed(form: MultiDict[str, str]) -> dict[str, Any]:
    return {k: v for k, v in form.to_dict().items() if k != "csrf_token"}


@bp.route("/provider-cards/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    who = require_write()
    if request.method == "GET":
        preset = request.args.get("carrier_id", "")
        return _render({"force_presentation": "single", "dialing": "dialled_number",
                        "carrier_id": preset}, {}, None)
    try:
        card = service.create_provider_card(db(), who, form_data(request.form, editing=False))
    except (ValidationFailed, Conflict) as exc:
        db().rollback()
        return _render(_typed(request.form), errors_of(exc), None, status_of(exc))
    flash(f"Provider card {card.name} added. Upload its first deck below.", "info")
    return redirect(url_for("provider_cards.detail", card_id=card.id, tab="upload"))


@bp.route("/provider-cards/<int:card_id>/edit", methods=["GET", "POST"])
@login_required
def edit(card_id: int) -> ResponseReturnValue:
    who = require_write()
    current = service.to_dict(service.get_provider_card(db(), who, card_id))
    if request.method == "GET":
        return _render(current, {}, card_id)
    try:
        service.update_provider_card(db(), who, card_id, form_data(request.form, editing=True))
    except (ValidationFailed, Conflict) as exc:
        db().rollback()
        values = _typed(request.form) | {"currency": current["currency"]}
        return _render(values, errors_of(exc), card_id, status_of(exc))
    flash("Provider card saved.", "info")
    return redirect(url_for("provider_cards.detail", card_id=card_id))


@bp.route("/provider-cards/<int:card_id>/delete", methods=["GET", "POST"])
@login_required
def delete(card_id: int) -> ResponseReturnValue:
    who = require_write()
    card = service.get_provider_card(db(), who, card_id)
    revision_count = len(revisions.list_revisions(db(), who, card))
    name = card.name
    if request.method == "POST":
        try:
            service.delete_provider_card(db(), who, card_id)
        except Conflict as exc:
            db().rollback()
            page = render_template("provider_cards/delete.html", card=card,
                                   revisions=revision_count, refusal=exc.message)
            return page, 409
        flash(f"Provider card {name} deleted.", "info")
        return redirect(url_for("provider_cards.index"))
    return render_template("provider_cards/delete.html", card=card, revisions=revision_count,
                           refusal=None)
