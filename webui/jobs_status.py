"""Background jobs in the web admin: a progress page any job can use, and its JSON.

``GET /jobs/<id>`` shows a job: a progress bar and message while it is queued or
running (job-progress.js polls ``/jobs/<id>.json`` every 500 ms and reloads the page
when the job ends; without script the page refreshes itself), then its result or
its errors as a table (row, column, message). ``?back=/path`` adds a link back to
the page that started the job (a path on this site only).

A domain adds its own links to the page of its jobs with :func:`register_job_links`:
``fn(job_dict) -> {"title", "result": (url, label), "card": (url, label), "note",
"failed_note", "back_label"} | None`` (every key optional; the first function that
answers wins).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from orchestrator.actor import Actor
from orchestrator.jobs import service
from webui.auth import current_user, login_required, safe_next
from webui.db import db

bp = Blueprint("job_status", __name__)

LinkFunction = Callable[[dict[str, Any]], dict[str, Any] | None]
_links: dict[str, list[LinkFunction]] = {}
ROW_ERROR = re.compile(r"^row (\d+)(?:, (.*))?$", re.DOTALL)
REFRESH_SECONDS = 2
SHOWN = ("id", "kind", "state", "progress", "message", "result", "errors", "created_by",
         "created_at", "started_at", "finished_at")


def register_job_links(kind: str, fn: LinkFunction) -> None:
    """Let ``fn`` add links (result, back to the object) to the page of ``kind`` jobs."""
    _links.setdefault(kind, []).append(fn)


def links_of(job: dict[str, Any]) -> dict[str, Any]:
    for fn in _links.get(job["kind"], []):
        found = fn(job)
        if found is not None:
            return found
    return {}


def error_rows(errors: list[Any] | None) -> tuple[list[dict[str, str]], list[str]]:
    """The job's errors as table rows (row, column, message) and general messages."""
    rows: list[dict[str, str]] = []
    general: list[str] = []
    for item in errors or []:
        if not isinstance(item, dict):
            general.append(str(item))
            continue
        field = str(item.get("field", ""))
        messages = [str(m) for m in item.get("messages") or []]
        match = ROW_ERROR.match(field)
        if match:
            column = match.group(2) or ""
            column = column[len("column "):] if column.startswith("column ") else column
            rows.extend({"row": match.group(1), "column": column, "message": m}
                        for m in messages)
        elif field in ("", "file", "upload"):
            general.extend(messages)
        else:
            general.extend(f"{field}: {m}" for m in messages)
    return rows, general


def _job(job_id: int) -> dict[str, Any]:
    user = current_user()
    if user is None:
        abort(401)
    return service.job_to_dict(service.get_job(db(), Actor(user.id, user.username, user.role),
                                               job_id))


@bp.get("/jobs/<int:job_id>.json")
@login_required
def job_json(job_id: int) -> ResponseReturnValue:
    job = _job(job_id)
    return jsonify({k: job[k] for k in SHOWN})


@bp.get("/jobs/<int:job_id>")
@login_required
def page(job_id: int) -> ResponseReturnValue:
    job = _job(job_id)
    back_arg = request.args.get("back", "")
    back = back_arg if back_arg and safe_next(back_arg) == back_arg else None
    rows, general = error_rows(job["errors"])
    finished = job["state"] in service.FINISHED
    return render_template("jobs/progress.html", job=job, links=links_of(job), back=back,
                           error_rows=rows, general_errors=general, finished=finished,
                           refresh_seconds=REFRESH_SECONDS)
