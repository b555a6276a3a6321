"""The Messages page: every email and SMS the switch sent or tries to send, with search,
filters (channel, status, purpose), pages, CSV, one message's text and last error, and
retrying a failed one (after a confirmation page).

Views call orchestrator.notify.outbox, the functions the REST API and the CLI call.
The filters travel in the query string; ``_keep_filters`` adds them to the list's URLs
(sort headings, pages, CSV) so they are not lost, as on the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    flash,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from orchestrator.errors import Conflict
from orchestrator.listing import ListQuery
from orchestrator.notify import outbox
from orchestrator.notify.models import CHANNELS, MESSAGE_STATUSES, PURPOSES, Message
from webui.auth import current_actor, login_required, require_write, safe_next
from webui.db import db
from webui.list_views import register_list_views
from webui.lists import Column, ListSpec

bp = Blueprint("messages", __name__)

LIST = ListSpec(
    name="messages",
    columns=(
        Column("created_at", "Created (UTC)", sort="created_at", always=True),
        Column("channel", "Channel", sort="channel"),
        Column("recipient", "To", sort="recipient"),
        Column("what", "Subject / text"),
        Column("purpose", "Purpose", sort="purpose"),
        Column("status", "Status", sort="status"),
        Column("attempts", "Attempts", sort="attempts", numeric=True),
        Column("last_error", "Last error"),
        Column("sent_at", "Sent (UTC)", sort="sent_at"),
        Column("customer_id", "Customer", numeric=True),
    ),
    default_sort="-created_at",
    hidden_by_default=frozenset({"sent_at", "customer_id"}),
)
LIST_ENDPOINTS = frozenset({"messages.index", "messages.export_csv"})
CHOICES = {"channel": CHANNELS, "status": MESSAGE_STATUSES, "purpose": PURPOSES}


@dataclass
class Filters:
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return any(self.values.values())


def read_filters() -> Filters:
    """This request's filters; an unknown value is reported and ignored."""
    cached: Filters | None = g.get("message_filters")
    if cached is not None:
        return cached
    found = Filters()
    for name, allowed in CHOICES.items():
        value = request.args.get(name, "").strip()[:40]
        if value and value not in allowed:
            found.errors[name] = [f"must be one of: {', '.join(allowed)}"]
            value = ""
        found.values[name] = value
    g.message_filters = found
    return found


def _keep_filters(endpoint: str, values: dict[str, Any]) -> None:
    if values.pop("_no_filters", False) or endpoint not in LIST_ENDPOINTS:
        return
    if not has_request_context() or request.blueprint != "messages":
        return
    for key, value in read_filters().values.items():
        if value:
            values.setdefault(key, value)


bp.url_defaults(_keep_filters)


def _when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def message_row(message: Message) -> dict[str, Any]:
    what = message.subject or " ".join(message.body.split())
    return {"id": message.id, "created_at": _when(message.created_at),
            "channel": message.channel, "recipient": message.recipient,
            "what": what[:120], "purpose": message.purpose, "status": message.status,
            "attempts": message.attempts, "last_error": message.last_error[:200],
            "sent_at": _when(message.sent_at), "customer_id": message.customer_id}


def _fetch(query: ListQuery) -> tuple[list[dict[str, Any]], int, int]:
    found = read_filters().values
    page = outbox.list_messages(db(), current_actor(), query, channel=found["channel"],
                                status=found["status"], purpose=found["purpose"])
    return [message_row(m) for m in page.items], page.total, page.pages


register_list_views(bp, "messages", LIST, _fetch, current_actor)


@bp.context_processor
def _filter_context() -> dict[str, Any]:
    return {"filters": read_filters(), "choices": CHOICES} \
        if request.endpoint == "messages.index" else {}


def _back(target: str | None) -> str:
    """The filtered list the message was opened from, if it is one (no open redirect)."""
    if target and target.startswith("/messages") and safe_next(target) == target:
        return target
    return url_for("messages.index", _no_filters=True)


@bp.get("/messages/<int:message_id>")
@login_required
def detail(message_id: int) -> ResponseReturnValue:
    who = current_actor()
    message = outbox.get_message(db(), who, message_id)
    return render_template("messages/detail.html", message=message, row=message_row(message),
                           can_write=who.can("write"), back=_back(request.args.get("back")))


@bp.route("/messages/<int:message_id>/retry", methods=["GET", "POST"])
@login_required
def retry(message_id: int) -> ResponseReturnValue:
    who = require_write("the messages")
    message = outbox.get_message(db(), who, message_id)
    if request.method == "GET":
        return render_template("messages/retry_confirm.html", message=message)
    try:
        outbox.retry(db(), who, message_id)
    except Conflict as exc:
        db().rollback()
        flash(f"Not sent again: {exc.message}", "error")
    else:
        flash(f"Message {message_id} queued again: a new delivery job sends it.", "info")
    return redirect(url_for("messages.detail", message_id=message_id))
