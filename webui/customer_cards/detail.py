"""A customer card's page: tabs Main (with Build), Profit rules, Revisions, Rates,
Changes, Routing and (external cards, roles that may write) Upload, step 1 of the
wizard of ``webui/customer_cards/upload.py``. Rates and Changes answer their table
alone to list.js (search as you type, header X-Fragment: 1)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.errors import NotFound, ValidationFailed
from orchestrator.listing import MAX_PER_PAGE
from orchestrator.ratecards import customer_cards, imports, profit_rules, revisions
from orchestrator.ratecards.models import (
    CHANGE_KINDS,
    ROUNDING,
    RULE_STATUSES,
    RULE_TYPES,
    CustomerCard,
    RateRevision,
)
from webui.auth import login_required
from webui.customer_cards.common import (
    actor,
    bp,
    money,
    provider_names,
    require_write,
    stale_label,
)
from webui.customer_cards.jobs import job_url
from webui.db import db
from webui.list_views import FRAGMENT_HEADER
from webui.lists import PER_PAGE_CHOICES

TABS = (("main", "Main"), ("rules", "Profit rules"), ("revisions", "Revisions"),
        ("rates", "Rates"), ("changes", "Changes"), ("routing", "Routing"),
        ("upload", "Upload"))
DEFAULT_PER_PAGE = 50


def _int_arg(name: str, default: int, high: int = 10**9) -> int:
    try:
        value = int(request.args.get(name, ""))
    except ValueError:
        return default
    return value if 1 <= value <= high else default


def _revision_arg(session: Session, who: Actor, card: CustomerCard
                  ) -> RateRevision | None:
    """The revision named by ?revision=, else None (404 for one of another card)."""
    raw = request.args.get("revision", "")
    if not raw.isdigit():
        return None
    return revisions.get_revision(session, who, card, int(raw))


def rates_revision(session: Session, who: Actor, card: CustomerCard) -> RateRevision | None:
    """Rates tab: the chosen revision, else the active one, else the newest."""
    chosen = _revision_arg(session, who, card)
    if chosen is not None:
        return chosen
    active = revisions.active_revision(session, card)
    if active is not None:
        return active
    newest = revisions.list_revisions(session, who, card)
    return newest[0] if newest else None


def changes_revision(session: Session, who: Actor, card: CustomerCard
                     ) -> RateRevision | None:
    """Changes tab: the chosen revision, else the newest draft, else the active one."""
    chosen = _revision_arg(session, who, card)
    if chosen is not None:
        return chosen
    drafts = [r for r in revisions.list_revisions(session, who, card) if r.state == "draft"]
    return drafts[0] if drafts else revisions.active_revision(session, card)


def candidates_text(candidates: list[dict[str, int]], names: dict[int, str],
                    places: int) -> list[str]:
    return [f"{names.get(c['provider_card_id'], '#' + str(c['provider_card_id']))}: "
            f"{money(c['cost'], places)}" for c in candidates]


def _paging() -> tuple[int, int]:
    return _int_arg("page", 1), _int_arg("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)


def _rates_context(session: Session, who: Actor, card: CustomerCard) -> dict[str, Any]:
    revision = rates_revision(session, who, card)
    q = request.args.get("q", "").strip()[:100]
    page, per_page = _paging()
    context: dict[str, Any] = {"revision": revision, "q": q, "rows": [], "total": 0,
                               "page": page, "pages": 1, "per_page": per_page}
    if revision is None:
        return context
    digits = q.isdigit() and q.isascii()
    result = revisions.rates_page(session, revision.id, prefix=q if digits else "",
                                  q="" if digits else q, page=page, per_page=per_page)
    names = provider_names(session, (c["provider_card_id"] for row in result.items
                                     for c in row["candidates"]))
    rows = []
    for item in result.items:
        row = dict(item)
        for field in ("rate", "inter", "intra"):
            row[field] = money(item[field], card.precision)
        row["connect_fee"] = money(item["connect_fee"], 0)
        row["routing"] = candidates_text(item["candidates"], names, card.precision)
        rows.append(row)
    return context | {"rows": rows, "total": result.total, "pages": result.pages}


def _changes_context(session: Session, who: Actor, card: CustomerCard) -> dict[str, Any]:
    revision = changes_revision(session, who, card)
    kind = request.args.get("kind", "")
    kind = kind if kind in CHANGE_KINDS else ""
    q = request.args.get("q", "").strip()[:20]
    page, per_page = _paging()
    context: dict[str, Any] = {"revision": revision, "kind": kind, "q": q, "rows": [],
                               "total": 0, "page": page, "pages": 1, "per_page": per_page,
                               "counts": dict.fromkeys(CHANGE_KINDS, 0), "baseline": None,
                               "notice_until": None, "q_error": None}
    if revision is None:
        return context
    base = revisions.baseline(session, revision)
    old_id = base.id if base else None
    prefix = q if (q.isdigit() and q.isascii()) else ""
    if q and not prefix:
        context["q_error"] = "Type the digits a prefix starts with."
    result = revisions.changes_page(session, revision.id, old_id, kind=kind, prefix=prefix,
                                    page=page, per_page=per_page)
    rows = []
    for item in result.items:
        row = dict(item)
        for field in ("old_rate", "new_rate", "old_inter", "new_inter", "old_intra",
                      "new_intra"):
            row[field] = money(item[field], card.precision)
        rows.append(row)
    notice = (revisions.notice_until(session, card, revision)
              if revision.state == "draft" else None)
    return context | {"rows": rows, "total": result.total, "pages": result.pages,
                      "counts": revisions.classify_changes(session, revision.id, old_id),
                      "baseline": base, "notice_until": notice}


def _routing_context(session: Session, card: CustomerCard) -> dict[str, Any]:
    number = request.args.get("number", "").strip()[:40]
    context: dict[str, Any] = {"number": number, "route": None, "route_error": None}
    if not number:
        return context
    try:
        found = revisions.route(session, card, number)
    except ValidationFailed as exc:
        context["route_error"] = "The number " + " ".join(
            m for ms in exc.errors.values() for m in ms) + "."
        return context
    except NotFound:
        active = revisions.active_revision(session, card)
        context["route_error"] = ("The card has no active revision: build and activate one."
                                  if active is None else
                                  f"No prefix of the active revision matches {number}.")
        return context
    names = provider_names(session, (c["provider_card_id"] for c in found["candidates"]))
    found["rate"] = money(found["rate"], card.precision)
    found["routing"] = [{"name": names.get(c["provider_card_id"],
                                           f"#{c['provider_card_id']}"),
                         "provider_card_id": c["provider_card_id"],
                         "cost": money(c["cost"], card.precision)}
                        for c in found["candidates"]]
    return context | {"route": found}


def render_detail(card_id: int, tab: str, *, errors: dict[str, list[str]] | None = None,
                  values: dict[str, Any] | None = None, edit_rule: int | None = None,
                  status: int = 200) -> ResponseReturnValue:
    if tab not in dict(TABS):
        abort(404)
    who = actor()
    session = db()
    card = customer_cards.get_customer_card(session, who, card_id)
    names = provider_names(session, (p.provider_card_id for p in card.parents))
    context: dict[str, Any] = {
        "card": customer_cards.to_dict(card), "tab": tab, "tabs": TABS,
        "can_write": who.can("write"), "errors": errors or {}, "values": values or {},
        "parent_names": names, "stale": stale_label(session, card),
        "active": revisions.active_revision(session, card)}
    if tab == "main":
        context["drafts"] = [r for r in revisions.list_revisions(session, who, card)
                             if r.state == "draft"]
    elif tab == "rules":
        rules = [profit_rules.rule_to_dict(r)
                 for r in profit_rules.list_rules(session, who, card_id)]
        context |= {"rules": rules, "edit_rule": edit_rule if edit_rule is not None
                    else _int_arg("edit", 0), "rule_types": RULE_TYPES,
                    "rule_statuses": RULE_STATUSES, "roundings": ROUNDING}
    elif tab == "revisions":
        context["revisions"] = revisions.list_revisions(session, who, card)
        context["export_formats"] = tuple(imports.EXPORT_FORMATS)
    elif tab == "rates":
        context |= _rates_context(session, who, card)
    elif tab == "changes":
        context |= _changes_context(session, who, card)
    elif tab == "routing":
        context |= _routing_context(session, card)
    elif tab == "upload":
        if not card.external:
            abort(404, "A built customer card has no Upload tab: its rates come from "
                  "a build.")
        context["formats"] = imports.FORMATS
    context["per_page_choices"] = sorted(set(PER_PAGE_CHOICES)
                                         | {context.get("per_page", DEFAULT_PER_PAGE)})
    if tab in ("rates", "changes") and request.headers.get(FRAGMENT_HEADER) == "1":
        return render_template(f"customer_cards/_{tab}.html", **context)
    return render_template("customer_cards/detail.html", **context), status


@bp.get("/customer-cards/<int:card_id>")
@login_required
def detail(card_id: int) -> ResponseReturnValue:
    return render_detail(card_id, request.args.get("tab", "main"))


@bp.post("/customer-cards/<int:card_id>/build")
@login_required
def build(card_id: int) -> ResponseReturnValue:
    """Queue a build; the job page shows its progress and links to the new revision."""
    who = require_write()
    try:
        job = imports.start_build(db(), who, card_id, activate="activate" in request.form)
    except ValidationFailed as exc:
        db().rollback()
        flash("Cannot build: " + "; ".join(m for ms in exc.errors.values() for m in ms),
              "error")
        return redirect(url_for("customer_cards.detail", card_id=card_id))
    return redirect(job_url(job.id, url_for("customer_cards.detail", card_id=card_id)))
