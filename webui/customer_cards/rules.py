"""The profit rules editor: add, edit in place, delete, move, import from parents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from orchestrator.errors import Conflict, ValidationFailed
from orchestrator.ratecards import profit_rules
from webui.auth import login_required
from webui.customer_cards.common import bp, confirm_page, errors_of, require_write, status_of
from webui.customer_cards.detail import render_detail
from webui.db import db

TEXT = ("match", "type", "value", "name_override", "status")
OPTIONAL = ("mcd", "pulse", "connect_fee", "rounding")  # empty = none / the card's


def rule_data(form: MultiDict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {f: form.get(f, "") for f in TEXT}
    for field in OPTIONAL:
        value = form.get(field, "").strip()
        data[field] = value or None
    return data


def _back(card_id: int) -> str:
    return url_for("customer_cards.detail", card_id=card_id, tab="rules")


def _change(card_id: int, action: Callable[[], object], done: str, *,
            values: dict[str, Any] | None = None, edit_rule: int = 0) -> ResponseReturnValue:
    try:
        action()
    except (ValidationFailed, Conflict) as exc:
        db().rollback()
        return render_detail(card_id, "rules", errors=errors_of(exc), values=values,
                             edit_rule=edit_rule, status=status_of(exc))
    flash(done, "info")
    return redirect(_back(card_id))


@bp.post("/customer-cards/<int:card_id>/rules")
@login_required
def add_rule(card_id: int) -> ResponseReturnValue:
    who = require_write()
    data = rule_data(request.form)
    return _change(card_id, lambda: profit_rules.add_rule(db(), who, card_id, data),
                   "Profit rule added. Build the card to apply it.",
                   values=request.form.to_dict())


@bp.post("/customer-cards/<int:card_id>/rules/<int:rule_id>")
@login_required
def update_rule(card_id: int, rule_id: int) -> ResponseReturnValue:
    who = require_write()
    data = rule_data(request.form)
    return _change(card_id,
                   lambda: profit_rules.update_rule(db(), who, card_id, rule_id, data),
                   "Profit rule saved. Build the card to apply it.",
                   values=request.form.to_dict(), edit_rule=rule_id)


@bp.route("/customer-cards/<int:card_id>/rules/<int:rule_id>/delete",
          methods=["GET", "POST"])
@login_required
def delete_rule(card_id: int, rule_id: int) -> ResponseReturnValue:
    who = require_write()
    rule = profit_rules.get_rule(db(), who, card_id, rule_id)
    if request.method == "POST":
        profit_rules.delete_rule(db(), who, card_id, rule_id)
        flash("Profit rule deleted. Build the card to apply it.", "info")
        return redirect(_back(card_id))
    shown = rule.match or "(every prefix)"
    return confirm_page(f"Delete profit rule {rule.position + 1}?",
                        f"The rule matching {shown} ({rule.type} {rule.value}, "
                        f"{rule.status}) is removed; the rules after it move up.",
                        url_for("customer_cards.delete_rule", card_id=card_id,
                                rule_id=rule_id),
                        "Delete rule", _back(card_id), danger=True)


@bp.post("/customer-cards/<int:card_id>/rules/<int:rule_id>/move")
@login_required
def move_rule(card_id: int, rule_id: int) -> ResponseReturnValue:
    who = require_write()
    rule = profit_rules.get_rule(db(), who, card_id, rule_id)
    step = -1 if request.form.get("direction") == "up" else 1
    return _change(card_id,
                   lambda: profit_rules.move_rule(db(), who, card_id, rule_id,
                                                  rule.position + step),
                   f"Profit rule moved {'up' if step < 0 else 'down'}.")


@bp.post("/customer-cards/<int:card_id>/rules/import")
@login_required
def import_rules(card_id: int) -> ResponseReturnValue:
    who = require_write()
    try:
        created = profit_rules.import_from_parents(db(), who, card_id)
    except (ValidationFailed, Conflict) as exc:
        db().rollback()
        return render_detail(card_id, "rules", errors=errors_of(exc), status=status_of(exc))
    flash(f"{len(created)} profit rule(s) imported from the parents (percent 0, one per "
          "destination name): set their values, then build.", "info")
    return redirect(_back(card_id))
