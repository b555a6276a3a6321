"""The carriers list: search, sort, pages, column chooser and CSV export."""

from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orchestrator.carriers import service
from orchestrator.listing import ListQuery
from webui import lists
from webui.auth import login_required
from webui.carriers.common import LIST, actor, bp, carrier_row
from webui.db import db

FRAGMENT_HEADER = "X-Fragment"


def _fetch(query: ListQuery) -> tuple[list[dict[str, Any]], int, int]:
    """(rows with balance, total, page count) of this query."""
    page = service.list_carriers(db(), actor(), query)
    return [carrier_row(db(), c) for c in page.items], page.total, page.pages


@bp.get("/carriers")
@login_required
def index() -> ResponseReturnValue:
    query = lists.read_query(request.args, LIST)
    rows, total, pages = _fetch(query)
    who = actor()
    visible = lists.visible_columns(db(), who.user_id or 0, LIST)
    context = {"spec": LIST, "rows": rows, "total": total, "pages": pages, "query": query,
               "visible": visible, "can_write": who.can("write"),
               "per_page_choices": lists.per_page_choices(query.per_page)}
    if request.headers.get(FRAGMENT_HEADER) == "1":
        return render_template("carriers/_results.html", **context)
    return render_template("carriers/list.html", **context)


@bp.get("/carriers.csv")
@login_required
def export_csv() -> ResponseReturnValue:
    base = lists.read_query(request.args, LIST)
    keys = LIST.column_keys()

    def fetch(page: int) -> tuple[list[dict[str, Any]], int]:
        query = ListQuery(q=base.q, sort=base.sort, page=page, per_page=lists.CSV_CHUNK)
        rows, _, pages = _fetch(query)
        return rows, pages

    header = [c.label for c in LIST.columns]
    return lists.csv_response("carriers.csv", header, lists.paged_rows(fetch, keys))


@bp.post("/carriers/columns")
@login_required
def save_columns() -> ResponseReturnValue:
    """The visible columns: JSON {"columns": [...]} from the script, or the plain form."""
    who = actor()
    as_json = request.is_json
    chosen = ((request.get_json(silent=True) or {}).get("columns") if as_json
              else request.form.getlist("columns"))
    try:
        saved = lists.save_columns(db(), who.user_id or 0, LIST, chosen)
    except ValueError as exc:
        if as_json:
            return jsonify(message=str(exc), errors={"columns": [str(exc)]}), 422
        flash(str(exc), "error")
        return redirect(url_for("carriers.index"))
    if as_json:
        return jsonify(columns=saved)
    return redirect(url_for("carriers.index"))
