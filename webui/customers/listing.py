"""The customers list: search, sort, pages, column chooser and CSV export."""

from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orchestrator.customers import service, views
from orchestrator.listing import ListQuery
from webui import lists
from webui.auth import login_required
from webui.customers.common import LIST, actor, bp
from webui.db import db

FRAGMENT_HEADER = "X-Fragment"


def _fetch(query: ListQuery) -> tuple[list[dict[str, Any]], int, int]:
    """(rows with balance, total, page count) of this query."""
    page = service.list_customers(db(), actor(), query)
    return views.customer_rows(db(), page.items), page.total, page.pages


@bp.get("/customers")
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
        return render_template("customers/_results.html", **context)
    return render_template("customers/list.html", **context)


@bp.get("/customers.csv")
@login_required
def export_csv() -> ResponseReturnValue:
    base = lists.read_query(request.args, LIST)
    keys = LIST.column_keys()

    def fetch(page: int) -> tuple[list[dict[str, Any]], int]:
        query = ListQuery(q=base.q, sort=base.sort, page=page, per_page=lists.CSV_CHUNK)
        rows, _, pages = _fetch(query)
        return rows, pages

    header = [c.label for c in LIST.columns]
    return lists.csv_response("customers.csv", header, lists.paged_rows(fetch, keys))


@bp.post("/customers/columns")
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
        return redirect(url_for("customers.index"))
    if as_json:
        return jsonify(columns=saved)
    return redirect(url_for("customers.index"))
