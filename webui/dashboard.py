"""The dashboard: health of the switch's daemons, refreshed in the browser."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask.typing import ResponseReturnValue

from orchestrator.stack import health
from webui.auth import login_required
from webui.health_cards import HINT_COMMAND, cards, checked_at, payload
from webui.state import web_state

bp = Blueprint("dashboard", __name__)

REFRESH_MS = 5000


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    settings = web_state().settings
    report = health.collect(settings)
    return render_template("dashboard.html", cards=cards(report, settings),
                           checked_at=checked_at(), hint=HINT_COMMAND,
                           refresh_ms=REFRESH_MS)


@bp.get("/health.json")
@login_required
def health_json() -> ResponseReturnValue:
    settings = web_state().settings
    return jsonify(payload(health.collect(settings), settings, checked_at()))
