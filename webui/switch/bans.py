"""The Bans page: source addresses banned for flooding, each with a Lift button that
asks for confirmation first (docs/abuse.md).

Views call orchestrator.switch.bans, the functions the REST API and the CLI call.
The views hang on the Switch blueprint (``switch.bans``...), so the Switch entry of
the main navigation stays current on these pages.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orchestrator.errors import ServiceError
from orchestrator.switch import bans as service
from webui.auth import current_actor, login_required, require_write
from webui.db import db
from webui.state import web_state
from webui.switch import bp

WHAT = "the bans"


def _back() -> ResponseReturnValue:
    return redirect(url_for("switch.bans"))


@bp.get("/switch/bans")
@login_required
def bans() -> ResponseReturnValue:
    who = current_actor()
    settings = web_state().settings
    found = service.list_bans(db(), who, settings)
    return render_template("switch/bans.html", bans=found["items"], errors=found["errors"],
                           settings=settings, can_write=who.can("write"))


@bp.get("/switch/bans/lift")
@login_required
def confirm_lift() -> ResponseReturnValue:
    require_write(WHAT)
    text = request.args.get("ip", "")[:100]
    try:
        address, found = service.bans_of(db(), current_actor(), web_state().settings, text)
    except ServiceError as exc:
        flash(f"Cannot lift: {exc}", "error")
        return _back()
    return render_template("switch/bans_confirm.html", ip=address, bans=found)


@bp.post("/switch/bans/lift")
@login_required
def lift() -> ResponseReturnValue:
    who = require_write(WHAT)
    text = request.form.get("ip", "")[:100]
    try:
        result = service.lift(db(), who, web_state().settings, text)
    except ServiceError as exc:
        db().rollback()
        flash(f"Cannot lift the ban: {exc}", "error")
        return _back()
    flash(f"The ban of {result['ip']} is lifted on {', '.join(result['nodes'])}: its "
          "requests are answered again.", "info")
    for failure in result["errors"]:
        flash(f"Node {failure['node']} could not be asked ({failure['error']}): it may "
              "still ban the address.", "error")
    return _back()
