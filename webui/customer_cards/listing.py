"""The customer cards list (search, sort, pages, columns, CSV) and "Build all stale"."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from orchestrator.errors import ValidationFailed
from orchestrator.listing import ListQuery
from orchestrator.ratecards import customer_cards, imports
from webui.auth import login_required
from webui.customer_cards.common import LIST, actor, bp, card_row, confirm_page, require_write
from webui.customer_cards.jobs import job_url
from webui.db import db
from webui.list_views import register_list_views


def _fetch(query: ListQuery) -> tuple[list[dict[str, Any]], int, int]:
    page = customer_cards.list_customer_cards(db(), actor(), query)
    return [card_row(db(), c) for c in page.items], page.total, page.pages


register_list_views(bp, "customer-cards", LIST, _fetch, actor)


@bp.route("/customer-cards/build-stale", methods=["GET", "POST"])
@login_required
def build_stale() -> ResponseReturnValue:
    """Build every stale built card (confirmation page first)."""
    who = require_write()
    action = url_for("customer_cards.build_stale")
    cancel = url_for("customer_cards.index")
    message = ("Build a new revision of every customer card whose parents changed since "
               "its last build? Each new revision stays a draft unless you tick "
               "activate; increases still respect each card's notice period.")
    if request.method == "GET":
        return confirm_page("Build all stale cards", message, action,
                            "Build all stale cards", cancel, activate_option=True)
    try:
        job = imports.start_bulk_build(db(), who, None,
                                       activate="activate" in request.form)
    except ValidationFailed as exc:
        db().rollback()
        flash("Nothing to build: " + "; ".join(m for ms in exc.errors.values() for m in ms),
              "error")
        return redirect(cancel)
    return redirect(job_url(job.id, cancel))
