"""Routing explain page: what the switch does with a call, and why.

A GET form (the answer is bookmarkable and changes nothing) over
orchestrator.routing.explain.explain_current, the function the REST API and the CLI
call; any signed-in role may use it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from orchestrator.errors import Conflict, ValidationFailed
from orchestrator.routing.explain import explain_current
from webui.auth import login_required
from webui.state import web_state

bp = Blueprint("explain", __name__)

FIELDS = ("source_ip", "source_port", "username", "dialled", "caller")


def _port(text: str, errors: dict[str, list[str]]) -> int | None:
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        errors["source_port"] = ["must be a port number, 1-65535"]
        return None
    return int(text)


@bp.get("/routing/explain")
@login_required
def index() -> ResponseReturnValue:
    values = {name: request.args.get(name, "").strip()[:200] for name in FIELDS}
    errors: dict[str, list[str]] = {}
    result: dict[str, Any] | None = None
    problem = ""
    if any(values.values()):
        port = _port(values["source_port"], errors)
        try:
            result = explain_current(
                web_state().settings, source_ip=values["source_ip"],
                dialled=values["dialled"], source_port=port,
                username=values["username"] or None, caller=values["caller"] or None)
        except ValidationFailed as exc:
            errors = {**exc.errors, **errors}
        except Conflict as exc:
            problem = exc.message
        if errors:
            result = None
    status = 422 if errors else 409 if problem else 200
    return render_template("explain/index.html", values=values, errors=errors,
                           result=result, problem=problem), status
