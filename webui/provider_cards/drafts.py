"""Editing a draft revision from the Rates tab: add a rate, edit one, delete one (after a
confirmation page), and the Transform page (filter + change -> Preview with the count
and a before/after sample -> Apply). Only drafts, only for roles that may write.

``register(bp, ...)`` adds the same pages to the provider card blueprint (here) and
to the customer card blueprint (``webui/customer_cards/drafts.py``); the templates
(``provider_cards/draft_rate.html``, ``draft_transform.html``, ``draft_delete.html``)
serve both. Every page calls ``orchestrator.ratecards.draft_edits``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from orchestrator.actor import Actor
from orchestrator.errors import Conflict, ValidationFailed
from orchestrator.ratecards import draft_edits, draft_transform, revisions
from orchestrator.ratecards import provider_cards as provider_service
from orchestrator.ratecards.models import RATE_STATUSES, RateRevision
from orchestrator.ratecards.money import format_units
from orchestrator.ratecards.revisions import Card
from webui.auth import login_required
from webui.db import db
from webui.provider_cards.common import bp, require_write

ROW_FORM = ("name", "rate", "inter", "intra", "mcd", "pulse", "connect_fee", "status")
FILTER_FORM = {"f_prefix": "prefix", "f_name": "name", "f_rate_min": "rate_min",
               "f_rate_max": "rate_max", "f_status": "status"}
CHANGE_LABELS = (("multiply_rate", "Multiply the rate by"), ("add_rate", "Add to the rate"),
                 ("set_rate", "Set the rate to"), ("set_billing", "Set billing (mcd/pulse)"),
                 ("set_status", "Set the status"))


@dataclass(frozen=True)
class Kind:
    """What differs between provider and customer card pages."""

    endpoint: str  # blueprint name
    base: str  # URL of the cards, e.g. /provider-cards
    label: str  # "provider card"
    load: Callable[[Actor, int], Card]
    to_dict: Callable[[Card], dict[str, Any]]
    write: Callable[[], Actor]


def money_text(units: int | None) -> str:
    """Units as the shortest exact decimal (``0.0123``), "" for none."""
    if units is None:
        return ""
    whole, _, frac = format_units(int(units)).partition(".")
    frac = frac.rstrip("0")
    return f"{whole}.{frac}" if frac else whole


def _row_form(row: dict[str, Any]) -> dict[str, str]:
    out = {k: ("" if row.get(k) is None else str(row[k])) for k in ("prefix", *ROW_FORM)}
    for field in ("rate", "inter", "intra", "connect_fee"):
        out[field] = money_text(row.get(field))
    return out


def _refused(exc: ValidationFailed | Conflict) -> tuple[dict[str, list[str]], int]:
    if isinstance(exc, Conflict):
        return {exc.field: [exc.message]}, 409
    return dict(exc.errors), 422


def _filter_and_change(form: MultiDict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    flt = {key: form.get(name, "").strip() for name, key in FILTER_FORM.items()
           if form.get(name, "").strip()}
    kind = form.get("change_type", "")
    change: dict[str, Any] = {"type": kind}
    if kind.endswith("_rate"):
        change["value"] = form.get("value", "").strip()
    elif kind == "set_billing":
        for key in ("mcd", "pulse"):
            if form.get(f"c_{key}", "").strip():
                change[key] = form.get(f"c_{key}", "").strip()
    elif kind == "set_status":
        change["status"] = form.get("c_status", "")
    return flt, change


def register(blueprint: Blueprint, kind: Kind) -> None:
    base = f"{kind.base}/<int:card_id>/revisions/<int:revision_id>"
    prefix_name = kind.endpoint

    def rates_tab(card_id: int, revision_id: int) -> str:
        return url_for(f"{prefix_name}.detail", card_id=card_id, tab="rates",
                       revision=revision_id)

    def context(card: Card, revision: RateRevision) -> dict[str, Any]:
        return {"card": kind.to_dict(card), "revision": revision, "kind": kind,
                "rates_tab": rates_tab(card.id, revision.id), "statuses": RATE_STATUSES}

    def load(card_id: int, revision_id: int) -> tuple[Actor, Card, RateRevision]:
        who = kind.write()
        card = kind.load(who, card_id)
        revision = revisions.get_revision(db(), who, card, revision_id)
        if revision.state != "draft":
            abort(409, f"Revision {revision.number} is {revision.state}: only a draft can "
                  "be edited. Make a new draft copy on the Revisions tab first.")
        return who, card, revision

    def row_page(card: Card, revision: RateRevision, values: dict[str, str], *,
                 prefix: str | None, errors: dict[str, list[str]] | None = None,
                 status: int = 200) -> ResponseReturnValue:
        page = render_template("provider_cards/draft_rate.html", **context(card, revision),
                               values=values, prefix=prefix, errors=errors or {})
        return page, status

    def add_rate(card_id: int, revision_id: int) -> ResponseReturnValue:
        who, card, revision = load(card_id, revision_id)
        values = {k: request.form.get(k, "") for k in ("prefix", *ROW_FORM)}
        if request.method == "GET":
            return row_page(card, revision, {"mcd": "1", "pulse": "1", "status": "active"},
                            prefix=None)
        try:
            row = draft_edits.add_rate(db(), who, card, revision_id, values)
        except (ValidationFailed, Conflict) as exc:
            db().rollback()
            errors, status = _refused(exc)
            return row_page(card, revision, values, prefix=None, errors=errors,
                            status=status)
        flash(f"Rate {row['prefix']} added to draft revision {revision.number}.", "info")
        return redirect(rates_tab(card_id, revision_id))

    def edit_rate(card_id: int, revision_id: int, prefix: str) -> ResponseReturnValue:
        who, card, revision = load(card_id, revision_id)
        if request.method == "GET":
            row = draft_edits.get_rate(db(), who, card, revision_id, prefix)
            return row_page(card, revision, _row_form(row), prefix=prefix)
        values = {k: request.form.get(k, "") for k in ROW_FORM}
        try:
            draft_edits.update_rate(db(), who, card, revision_id, prefix, values)
        except (ValidationFailed, Conflict) as exc:
            db().rollback()
            errors, status = _refused(exc)
            return row_page(card, revision, values | {"prefix": prefix}, prefix=prefix,
                            errors=errors, status=status)
        flash(f"Rate {prefix} of draft revision {revision.number} saved.", "info")
        return redirect(rates_tab(card_id, revision_id))

    def delete_rate(card_id: int, revision_id: int, prefix: str) -> ResponseReturnValue:
        who, card, revision = load(card_id, revision_id)
        row = draft_edits.get_rate(db(), who, card, revision_id, prefix)
        refusal = None
        if request.method == "POST":
            try:
                draft_edits.delete_rate(db(), who, card, revision_id, prefix)
            except Conflict as exc:
                db().rollback()
                refusal = exc.message
            else:
                flash(f"Rate {prefix} deleted from draft revision {revision.number}.",
                      "info")
                return redirect(rates_tab(card_id, revision_id))
        page = render_template("provider_cards/draft_delete.html", **context(card, revision),
                               row=_row_form(row), refusal=refusal)
        return page, (409 if refusal else 200)

    def transform(card_id: int, revision_id: int) -> ResponseReturnValue:
        who, card, revision = load(card_id, revision_id)
        form = request.form if request.method == "POST" else MultiDict(
            {"change_type": "multiply_rate"})
        values = {k: form.get(k, "") for k in (*FILTER_FORM, "change_type", "value",
                                                "c_mcd", "c_pulse", "c_status")}
        preview = None
        errors: dict[str, list[str]] = {}
        status = 200
        if request.method == "POST":
            flt, change = _filter_and_change(form)
            try:
                if form.get("action") == "apply":
                    seen = draft_transform.preview_transform(db(), who, card, revision_id, flt,
                                                         change)["count"]
                    if str(seen) != form.get("previewed", ""):
                        raise ValidationFailed.one("preview", "the filter or change is not "
                                                   "the one previewed (or the rates changed):"
                                                   " preview again, then apply")
                    count = draft_transform.apply_transform(db(), who, card, revision_id, flt,
                                                        change)
                    flash(f"{count:,} rate{'' if count == 1 else 's'} of draft revision "
                          f"{revision.number} changed.", "info")
                    return redirect(rates_tab(card_id, revision_id))
                preview = draft_transform.preview_transform(db(), who, card, revision_id, flt,
                                                        change)
            except (ValidationFailed, Conflict) as exc:
                db().rollback()
                errors, status = _refused(exc)
                preview = None
        if preview is not None:
            for sample in preview["sample"]:
                for side in ("before", "after"):
                    sample[side] = _row_form(sample[side])
        page = render_template("provider_cards/draft_transform.html",
                               **context(card, revision), values=values, preview=preview,
                               errors=errors, change_labels=CHANGE_LABELS)
        return page, status

    for rule, view, name in (
            (f"{base}/rates/new", add_rate, "draft_add_rate"),
            (f"{base}/rates/<prefix>/edit", edit_rate, "draft_edit_rate"),
            (f"{base}/rates/<prefix>/delete", delete_rate, "draft_delete_rate"),
            (f"{base}/transform", transform, "draft_transform")):
        blueprint.add_url_rule(rule, name, login_required(view), methods=["GET", "POST"])


def _provider_card(who: Actor, card_id: int) -> Card:
    return provider_service.get_provider_card(db(), who, card_id)


def _provider_dict(card: Card) -> dict[str, Any]:
    return provider_service.to_dict(card)  # type: ignore[arg-type]


PROVIDER = Kind(endpoint="provider_cards", base="/provider-cards", label="provider card",
                load=_provider_card, to_dict=_provider_dict, write=require_write)
register(bp, PROVIDER)
