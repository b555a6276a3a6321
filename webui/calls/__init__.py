"""The Live calls page: what the switch carries now, refreshed every few seconds, with a
Hang up button that asks for confirmation first (docs/live-calls.md).

Views call orchestrator.calls.service, the functions the REST API and the CLI call.
The page renders the table once; static/live-calls.js then fetches ``/calls/live.json``
(the same table, rendered by the same template) every REFRESH_MS.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orchestrator.calls import service
from orchestrator.errors import ServiceError
from webui.auth import current_actor, login_required, require_write
from webui.db import db
from webui.state import web_state

bp = Blueprint("calls", __name__)

WHAT = "the live calls"
REFRESH_MS = 3000


def _filters() -> dict[str, int | None]:
    """customer_id / carrier_id from the query string (anything else: no filter)."""
    found: dict[str, int | None] = {}
    for name in ("customer_id", "carrier_id"):
        text = request.args.get(name, "").strip()
        found[name] = int(text) if text.isdigit() and 0 < int(text) < 2**63 else None
    return found


def _table() -> dict[str, Any]:
    """What the table template needs: the calls (as dicts), the error, who may hang up."""
    who = current_actor()
    filters = _filters()
    error = None
    try:
        calls = [c.to_dict() for c in service.list_calls(
            db(), web_state().settings, actor=who, **filters)]
    except service.CallsUnavailable as exc:
        calls, error = [], str(exc)
    return {"calls": calls, "error": error, "can_write": who.can("write"),
            "filters": filters, "checked_at": time.strftime("%H:%M:%S")}


@bp.get("/calls")
@login_required
def index() -> ResponseReturnValue:
    table = _table()
    live_url = url_for("calls.live", **{k: v for k, v in table["filters"].items() if v})
    return render_template("calls/index.html", refresh_ms=REFRESH_MS, live_url=live_url,
                           **table)


@bp.get("/calls/live.json")
@login_required
def live() -> ResponseReturnValue:
    table = _table()
    return jsonify(html=render_template("calls/_table.html", **table),
                   total=len(table["calls"]), error=table["error"],
                   checked_at=table["checked_at"])


def _back() -> ResponseReturnValue:
    return redirect(url_for("calls.index"))


@bp.get("/calls/<path:call>/hangup")
@login_required
def confirm_hangup(call: str) -> ResponseReturnValue:
    require_write(WHAT)
    try:
        found = service.find_call(db(), web_state().settings, call[:300],
                                  actor=current_actor())
    except ServiceError as exc:
        flash(f"Cannot hang up: {exc}", "error")
        return _back()
    return render_template("calls/confirm.html", call=found.to_dict())


@bp.post("/calls/<path:call>/hangup")
@login_required
def hangup(call: str) -> ResponseReturnValue:
    who = require_write(WHAT)
    try:
        result = service.hangup(db(), who, web_state().settings, call[:300])
    except ServiceError as exc:
        db().rollback()
        flash(f"Cannot hang up: {exc}", "error")
        return _back()
    how = ("BYE sent to both sides" if result["action"] == "bye"
           else "CANCEL sent to the carrier, 487 to the customer")
    flash(f"Call {result['caller']} → {result['dialled']} hung up ({how}).", "info")
    return _back()
