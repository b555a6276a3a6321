"""Exchange rates (currencies page): units of each currency per one unit of the base
currency (``settings.base_currency``). Set or replace one, delete one (refused while a
customer card converts with it), or import a CSV of ``currency,per_base`` lines (all
or nothing: a bad row refuses the file and every problem is listed)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orchestrator.actor import Actor
from orchestrator.errors import Conflict, ValidationFailed
from orchestrator.ratecards import exchange
from orchestrator.ratecards.provider_cards import iso
from webui.auth import current_actor, login_required, require_write
from webui.db import db
from webui.jobs_status import error_rows
from webui.state import web_state

bp = Blueprint("currencies", __name__)


_actor = current_actor


def _writer() -> Actor:
    return require_write("exchange rates")


def base_currency() -> str:
    return web_state().settings.base_currency


def _render(*, errors: dict[str, list[str]] | None = None,
            values: dict[str, Any] | None = None,
            import_errors: dict[str, list[str]] | None = None,
            status: int = 200) -> ResponseReturnValue:
    who = _actor()
    rows = [{"currency": r.currency, "per_base": r.per_base, "updated_at": iso(r.updated_at)}
            for r in exchange.list_rates(db(), who)]
    table, general = error_rows([{"field": k, "messages": v}
                                 for k, v in (import_errors or {}).items()])
    page = render_template("currencies/index.html", rows=rows, base=base_currency(),
                           errors=errors or {}, values=values or {},
                           import_rows=table, import_general=general,
                           import_failed=bool(import_errors), can_write=who.can("write"))
    return page, status


@bp.get("/currencies")
@login_required
def index() -> ResponseReturnValue:
    return _render()


@bp.post("/currencies")
@login_required
def set_rate() -> ResponseReturnValue:
    who = _writer()
    code = request.form.get("currency", "")
    value = request.form.get("per_base", "")
    try:
        row = exchange.set_rate(db(), who, code, value, base_currency())
    except ValidationFailed as exc:
        db().rollback()
        return _render(errors=dict(exc.errors), values={"currency": code, "per_base": value},
                       status=422)
    flash(f"{row.currency}: {row.per_base} per 1 {base_currency()}.", "info")
    return redirect(url_for("currencies.index"))


@bp.route("/currencies/<code>/delete", methods=["GET", "POST"])
@login_required
def delete(code: str) -> ResponseReturnValue:
    who = _writer()
    code = code.strip().upper()[:3]
    current = next((r for r in exchange.list_rates(db(), who) if r.currency == code), None)
    if current is None:
        abort(404, f"There is no exchange rate for {code}.")
    if request.method == "POST":
        try:
            exchange.delete_rate(db(), who, code)
        except Conflict as exc:
            db().rollback()
            page = render_template("currencies/delete.html", code=code,
                                   per_base=current.per_base, base=base_currency(),
                                   refusal=exc.message)
            return page, 409
        flash(f"Exchange rate of {code} deleted.", "info")
        return redirect(url_for("currencies.index"))
    return render_template("currencies/delete.html", code=code, per_base=current.per_base,
                           base=base_currency(), refusal=None)


@bp.post("/currencies/import")
@login_required
def import_csv() -> ResponseReturnValue:
    who = _writer()
    file = request.files.get("file")
    if file is None or not file.filename:
        return _render(import_errors={"file": ["Choose a CSV file to import."]}, status=422)
    try:
        rows = exchange.import_csv(db(), who, file.read(), base_currency())
    except ValidationFailed as exc:
        db().rollback()
        return _render(import_errors=dict(exc.errors), status=422)
    flash(f"{len(rows)} exchange rate{'s' if len(rows) != 1 else ''} imported.", "info")
    return redirect(url_for("currencies.index"))
