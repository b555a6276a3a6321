"""Adding, editing and deleting a customer card, with its parents editor.

The parents are rows of (provider card, weight, priority) named ``parents-<i>-<field>``;
a row without a provider card is ignored, so the page works without script (a fixed
number of blank rows) and parents.js adds and removes rows. The service replaces the
parents as a whole and names errors ``parents[<i>].<field>`` by the row's index among
the non-blank rows, which is how the page shows them again.
"""

from __future__ import annotations

import re
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from orchestrator.errors import Conflict, ValidationFailed
from orchestrator.ratecards import customer_cards
from orchestrator.ratecards.models import (
    COLLAPSE_USING,
    PRESENTATIONS,
    RATE_COMPACT,
    ROUNDING,
    STRATEGIES,
)
from webui.auth import login_required
from webui.customer_cards.common import (
    base_currency,
    bp,
    confirm_page,
    errors_of,
    provider_choices,
    require_write,
    status_of,
)
from webui.db import db

TEXT_FIELDS = ("name", "public_name", "currency", "notes", "rate_compact", "collapse_using",
               "force_presentation", "strategy", "precision", "rounding", "notice_days")
BOOL_FIELDS = ("collapse", "external")
OPTIONAL_NUMBERS = frozenset({"precision", "notice_days"})
BLANK_PARENT_ROWS = 3
MAX_PARENT_ROWS = customer_cards.MAX_PARENTS + BLANK_PARENT_ROWS
_PARENT_KEY = re.compile(r"^parents-(\d+)-(provider_card_id|weight|priority)$")

CHOICES = {"rate_compact": RATE_COMPACT, "collapse_using": COLLAPSE_USING,
           "force_presentation": PRESENTATIONS, "strategy": STRATEGIES, "rounding": ROUNDING}


def parent_rows(form: MultiDict[str, str]) -> list[dict[str, str]]:
    """The filled parent rows of the form, in row order (blank rows left out)."""
    rows: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        match = _PARENT_KEY.match(key)
        if match and int(match.group(1)) < MAX_PARENT_ROWS:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = value.strip()
    return [rows[i] for i in sorted(rows) if rows[i].get("provider_card_id")]


def form_data(form: MultiDict[str, str], editing: bool) -> dict[str, Any]:
    """The service's input from the form (the currency only when creating)."""
    data: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        if name == "currency" and editing:
            continue  # fixed after creation; not in the edit form
        value = form.get(name, "")
        if name in OPTIONAL_NUMBERS and not value.strip():
            continue
        data[name] = value
    for name in BOOL_FIELDS:
        data[name] = name in form
    data["parents"] = [{k: v for k, v in row.items() if v != ""}
                       for row in parent_rows(form)]
    return data


def _typed(form: MultiDict[str, str]) -> dict[str, Any]:
    """What was typed, to show again after a refusal."""
    values: dict[str, Any] = {k: form.get(k, "") for k in TEXT_FIELDS}
    values |= {b: b in form for b in BOOL_FIELDS}
    values["parents"] = parent_rows(form)
    return values


def _render(values: dict[str, Any], errors: dict[str, list[str]], card_id: int | None,
            status: int = 200) -> ResponseReturnValue:
    known = set(TEXT_FIELDS) | set(BOOL_FIELDS) | {"parents"}
    other = {f: m for f, m in errors.items()
             if f not in known and not f.startswith("parents[")}
    parents = list(values.get("parents") or [])
    rows = parents + [{}] * BLANK_PARENT_ROWS
    page = render_template("customer_cards/form.html", values=values, errors=errors,
                           other_errors=other, card_id=card_id, parent_rows=rows,
                           providers=provider_choices(db()), choices=CHOICES,
                           defaults=customer_cards.DEFAULTS)
    return page, status


@bp.route("/customer-cards/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    who = require_write()
    if request.method == "GET":
        return _render(dict(customer_cards.DEFAULTS) | {"currency": "", "parents": []},
                       {}, None)
    try:
        card = customer_cards.create_customer_card(
            db(), who, form_data(request.form, editing=False), base_currency=base_currency())
    except (ValidationFailed, Conflict) as exc:
        db().rollback()
        return _render(_typed(request.form), errors_of(exc), None, status_of(exc))
    flash(f"Customer card {card.name} added.", "info")
    return redirect(url_for("customer_cards.detail", card_id=card.id))


@bp.route("/customer-cards/<int:card_id>/edit", methods=["GET", "POST"])
@login_required
def edit(card_id: int) -> ResponseReturnValue:
    who = require_write()
    current = customer_cards.to_dict(customer_cards.get_customer_card(db(), who, card_id))
    if request.method == "GET":
        current["parents"] = [{k: str(p[k]) for k in ("provider_card_id", "weight",
                                                      "priority")}
                              for p in current["parents"]]
        return _render(current, {}, card_id)
    try:
        customer_cards.update_customer_card(db(), who, card_id,
                                            form_data(request.form, editing=True),
                                            base_currency=base_currency())
    except (ValidationFailed, Conflict) as exc:
        db().rollback()
        values = _typed(request.form) | {"currency": current["currency"]}
        return _render(values, errors_of(exc), card_id, status_of(exc))
    flash("Customer card saved. Build it to apply changed options or parents.", "info")
    return redirect(url_for("customer_cards.detail", card_id=card_id))


@bp.route("/customer-cards/<int:card_id>/delete", methods=["GET", "POST"])
@login_required
def delete(card_id: int) -> ResponseReturnValue:
    who = require_write()
    card = customer_cards.get_customer_card(db(), who, card_id)
    name = card.name
    title = f"Delete customer card {name}?"
    message = (f"This also deletes its {len(card.rules)} profit rule(s) and every revision "
               "with its rates. It cannot be undone.")
    action = url_for("customer_cards.delete", card_id=card_id)
    cancel = url_for("customer_cards.detail", card_id=card_id)
    if request.method == "POST":
        try:
            customer_cards.delete_customer_card(db(), who, card_id)
        except Conflict as exc:
            db().rollback()
            return confirm_page(title, message, action, f"Delete {name}", cancel,
                                danger=True, refusal=exc.message, status=409)
        flash(f"Customer card {name} deleted.", "info")
        return redirect(url_for("customer_cards.index"))
    return confirm_page(title, message, action, f"Delete {name}", cancel, danger=True)
