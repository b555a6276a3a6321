"""A provider card's page: tabs Main, Revisions, Rates and Upload.

The Rates tab browses one revision (the active one unless another is chosen) a page
at a time through ``revisions.rates_page``: the search box is a prefix range when it
holds digits only, else a search in the destination names. With the header
``X-Fragment: 1`` (list.js, search as you type) only the table is sent.
"""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orchestrator.errors import ValidationFailed
from orchestrator.listing import MAX_PER_PAGE
from orchestrator.ratecards import imports, revisions
from orchestrator.ratecards import provider_cards as service
from orchestrator.ratecards.models import CHANGE_KINDS, ProviderCard, RateRevision
from webui.auth import login_required
from webui.db import db
from webui.list_views import FRAGMENT_HEADER
from webui.lists import DEFAULT_PER_PAGE, per_page_choices
from webui.provider_cards.common import actor, bp, carrier_names, money

TABS = (("main", "Main"), ("revisions", "Revisions"), ("rates", "Rates"),
        ("upload", "Upload"))
MAX_SEARCH = 100


def revision_view(revision: RateRevision) -> dict[str, Any]:
    """The service's view of a revision plus its change counts and creation time."""
    view = revisions.revision_to_dict(revision)
    created = revision.created_at
    view["created_at"] = created and revisions.aware(created).isoformat()
    view["changes"] = revision.changes or None
    return view


def _int_arg(name: str, default: int, high: int) -> int:
    text = request.args.get(name, "")
    value = int(text) if text.isdigit() else default
    return value if 1 <= value <= high else default


def rates_context(card: ProviderCard, chosen: list[RateRevision]) -> dict[str, Any]:
    """The Rates tab: which revision, the search and one page of rows."""
    revision_id = request.args.get("revision", "")
    revision = None
    if revision_id.isdigit():
        revision = next((r for r in chosen if r.id == int(revision_id)), None)
        if revision is None:
            abort(404, f"Revision {revision_id} is not a revision of this card.")
    else:
        revision = next((r for r in chosen if r.state == "active"), None)
    search = request.args.get("q", "").strip()[:MAX_SEARCH]
    per_page = _int_arg("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
    page_number = _int_arg("page", 1, 10**9)
    rows: list[dict[str, Any]] = []
    total, pages = 0, 1
    if revision is not None:
        digits = search.isdigit() and search.isascii()
        page = revisions.rates_page(db(), revision.id, prefix=search if digits else "",
                                    q="" if digits else search, page=page_number,
                                    per_page=per_page)
        rows = [row | {f"{k}_shown": money(row[k])
                       for k in ("rate", "inter", "intra", "connect_fee")}
                for row in page.items]
        total, pages = page.total, page.pages
    return {"revision": revision_view(revision) if revision else None, "search": search,
            "rate_rows": rows, "rates_total": total, "rates_pages": pages,
            "rates_page": page_number, "per_page": per_page,
            "per_page_choices": per_page_choices(per_page),
            "show_inter_intra": card.force_presentation != "single"}


def rates_url(card_id: int, revision: dict[str, Any] | None, search: str, page: int,
              per_page: int) -> str:
    args: dict[str, Any] = {"card_id": card_id, "tab": "rates"}
    if revision is not None:
        args["revision"] = revision["id"]
    if search:
        args["q"] = search
    if page > 1:
        args["page"] = page
    if per_page != DEFAULT_PER_PAGE:
        args["per_page"] = per_page
    return url_for("provider_cards.detail", **args)


def render_detail(card_id: int, tab: str, *, errors: dict[str, list[str]] | None = None,
                  values: dict[str, Any] | None = None, status: int = 200,
                  template: str = "provider_cards/detail.html") -> ResponseReturnValue:
    if tab not in dict(TABS):
        abort(404)
    who = actor()
    session = db()
    card = service.get_provider_card(session, who, card_id)
    revision_list = revisions.list_revisions(session, who, card)
    active = next((r for r in revision_list if r.state == "active"), None)
    context: dict[str, Any] = {
        "card": service.to_dict(card),
        "carrier": carrier_names(session, {card.carrier_id}).get(card.carrier_id, ""),
        "revisions": [revision_view(r) for r in revision_list],
        "active": revision_view(active) if active else None,
        "tab": tab, "tabs": TABS, "can_write": who.can("write"),
        "errors": errors or {}, "values": values or {}, "change_kinds": CHANGE_KINDS,
        "formats": imports.FORMATS, "rates_url": rates_url,
    }
    if tab == "rates":
        try:
            context |= rates_context(card, revision_list)
        except ValidationFailed as exc:
            abort(400, str(exc))
        if request.headers.get(FRAGMENT_HEADER) == "1":
            return render_template("provider_cards/_rates.html", **context)
    return render_template(template, **context), status


@bp.get("/provider-cards/<int:card_id>")
@login_required
def detail(card_id: int) -> ResponseReturnValue:
    return render_detail(card_id, request.args.get("tab", "main"))
