"""The three views every list page has: the page (or its table fragment for search as
you type), its CSV export, and saving the chosen columns. Registered per blueprint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orchestrator.actor import Actor
from orchestrator.listing import ListQuery
from webui import lists
from webui.auth import login_required
from webui.db import db

FRAGMENT_HEADER = "X-Fragment"

# (query) -> (rows as dicts, total, page count)
Fetch = Callable[[ListQuery], tuple[list[dict[str, Any]], int, int]]


def register_list_views(bp: Blueprint, name: str, spec: lists.ListSpec, fetch: Fetch,
                        actor: Callable[[], Actor]) -> None:
    """/<name> (templates <name>/list.html and <name>/_results.html), /<name>.csv and
    POST /<name>/columns, with endpoints index, export_csv and save_columns."""

    @login_required
    def index() -> ResponseReturnValue:
        query = lists.read_query(request.args, spec)
        rows, total, pages = fetch(query)
        who = actor()
        visible = lists.visible_columns(db(), who.user_id or 0, spec)
        context = {"spec": spec, "rows": rows, "total": total, "pages": pages,
                   "query": query, "visible": visible, "can_write": who.can("write"),
                   "per_page_choices": lists.per_page_choices(query.per_page)}
        if request.headers.get(FRAGMENT_HEADER) == "1":
            return render_template(f"{name}/_results.html", **context)
        return render_template(f"{name}/list.html", **context)

    @login_required
    def export_csv() -> ResponseReturnValue:
        base = lists.read_query(request.args, spec)
        keys = spec.column_keys()

        def page_of(page: int) -> tuple[list[dict[str, Any]], int]:
            query = ListQuery(q=base.q, sort=base.sort, page=page, per_page=lists.CSV_CHUNK)
            rows, _, pages = fetch(query)
            return rows, pages

        header = [c.label for c in spec.columns]
        return lists.csv_response(f"{name}.csv", header, lists.paged_rows(page_of, keys))

    @login_required
    def save_columns() -> ResponseReturnValue:
        """JSON {"columns": [...]} from the script, or the plain form without script."""
        who = actor()
        as_json = request.is_json
        chosen = ((request.get_json(silent=True) or {}).get("columns") if as_json
                  else request.form.getlist("columns"))
        try:
            saved = lists.save_columns(db(), who.user_id or 0, spec, chosen)
        except ValueError as exc:
            if as_json:
                return jsonify(message=str(exc), errors={"columns": [str(exc)]}), 422
            flash(str(exc), "error")
            return redirect(url_for(f"{bp.name}.index"))
        if as_json:
            return jsonify(columns=saved)
        return redirect(url_for(f"{bp.name}.index"))

    bp.add_url_rule(f"/{name}", "index", index, methods=["GET"])
    bp.add_url_rule(f"/{name}.csv", "export_csv", export_csv, methods=["GET"])
    bp.add_url_rule(f"/{name}/columns", "save_columns", save_columns, methods=["POST"])
