"""The Switch page: what each node serves, pending changes, apply, rollback, history.

Views call orchestrator.switch.service, the functions the REST API and the CLI call.
Apply and rollback are jobs followed on the generic job page (webui/jobs_status.py).
``pending_banner()`` is the check behind the "pending changes" banner of every admin
page (base.html): the service's cached answer, read once per request, and never an
error (a failed check shows no banner).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orchestrator.errors import ServiceError, ValidationFailed
from orchestrator.switch import service
from webui.auth import current_actor, current_user, login_required, require_write
from webui.db import db
from webui.jobs_status import register_job_links
from webui.state import web_state

log = logging.getLogger(__name__)

bp = Blueprint("switch", __name__)

WHAT = "the switch"
KEPT_NOTE = ("Calls keep flowing on the snapshot that served before: nothing changed "
             "on a node that failed.")


def _problems(exc: ValidationFailed) -> str:
    return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.errors.items())


@bp.app_template_global()
def pending_banner() -> dict[str, Any] | None:
    """The pending check for base.html: None when signed out, nothing is pending, or
    the check failed (logged); read once per request, on its own session."""
    if "switch_pending" not in g:
        g.switch_pending = None
        if current_user() is not None:
            try:
                with web_state().sessions() as session:
                    found = service.pending(session, web_state().settings)
                g.switch_pending = found if found["pending"] else None
            except Exception:
                log.exception("the pending switch changes could not be checked")
    answer: dict[str, Any] | None = g.switch_pending
    return answer


@bp.get("/switch")
@login_required
def index() -> ResponseReturnValue:
    who = current_actor()
    info = service.status(db(), web_state().settings)
    return render_template("switch/index.html", info=info, can_write=who.can("write"))


def _job_page(job_id: int) -> ResponseReturnValue:
    return redirect(url_for("job_status.page", job_id=job_id, back=url_for("switch.index")))


@bp.post("/switch/apply")
@login_required
def apply() -> ResponseReturnValue:
    who = require_write(WHAT)
    try:
        job = service.start_apply(db(), who, web_state().settings)
    except ValidationFailed as exc:
        db().rollback()
        flash(f"Not applied, the model has problems: {_problems(exc)}", "error")
        return redirect(url_for("switch.index"))
    return _job_page(job.id)


@bp.get("/switch/rollback")
@login_required
def confirm_rollback() -> ResponseReturnValue:
    require_write(WHAT)
    version = request.args.get("version", "")[:64]
    try:
        target = service.rollback_target(web_state().settings, version or None)
    except ServiceError as exc:
        flash(f"Cannot roll back: {exc}", "error")
        return redirect(url_for("switch.index"))
    entry = next((e for e in service.history(web_state().settings)
                  if e["version"] == target.version), None)
    return render_template("switch/confirm.html", version=target.version, entry=entry)


@bp.post("/switch/rollback")
@login_required
def rollback() -> ResponseReturnValue:
    who = require_write(WHAT)
    version = request.form.get("version", "")[:64]
    try:
        job = service.start_rollback(db(), who, web_state().settings, version or None)
    except ServiceError as exc:
        db().rollback()
        flash(f"Cannot roll back: {exc}", "error")
        return redirect(url_for("switch.index"))
    return _job_page(job.id)


def job_links(job: dict[str, Any]) -> dict[str, Any]:
    """Title, the way back and what a failure means, on the page of a switch job."""
    result = job.get("result") or {}
    rollback_job = job.get("kind") == service.ROLLBACK_KIND
    links: dict[str, Any] = {
        "title": "Rollback of the switch" if rollback_job else "Apply to the switch",
        "card": (url_for("switch.index"), "Back to the switch"),
        "back_label": "Back to the switch", "failed_note": KEPT_NOTE}
    if result.get("version"):
        nodes = result.get("nodes") or []
        links["note"] = (f"Snapshot {str(result['version'])[:12]} serves on "
                         f"{len(nodes)} node{'s' if len(nodes) != 1 else ''}.")
    return links


for _kind in (service.APPLY_KIND, service.ROLLBACK_KIND):
    register_job_links(_kind, job_links)


# The Bans page's views hang on this blueprint (webui/switch/bans.py).
from webui.switch import bans as _bans  # noqa: E402,F401
