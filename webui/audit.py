"""The audit log (administrators only): newest first, filters, CSV, and one entry's
before/after values side by side.

Reads through orchestrator.audit.service (secrets are masked when entries are
recorded). The filters (object type, action, user, date range) travel in the query
string next to q/sort/page/per_page; ``_keep_filters`` adds them to every URL of
this list built while showing it (sort headings, pages, CSV), so they are not lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import g, has_request_context, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orchestrator.audit import service
from orchestrator.audit.models import AuditEntry
from orchestrator.listing import ListQuery
from webui.auth import login_required, safe_next
from webui.db import db
from webui.list_views import register_list_views
from webui.lists import Column, ListSpec
from webui.users import AdminBlueprint, actor

bp = AdminBlueprint("audit_log", __name__)  # "audit" is the API's

LIST = ListSpec(
    name="audit",
    columns=(
        Column("at", "When (UTC)", sort="at", always=True),
        Column("username", "Who", sort="username"),
        Column("action", "Action"),
        Column("object_type", "Object type"),
        Column("object_id", "Object id", numeric=True),
        Column("summary", "Object / summary"),
        Column("before", "Before"),
        Column("after", "After"),
    ),
    default_sort="-at",
    hidden_by_default=frozenset({"before", "after"}),
)

# "operation" is the action filter: a form control named "action" would hide the form's
# action attribute from list.js.
LIST_ENDPOINTS = frozenset({"audit_log.index", "audit_log.export_csv"})
FILTERS = ("object_type", "operation", "username", "since", "until")
# Pages linked from an entry, by object type (the object may have been deleted since).
OBJECT_PAGES = {"customer": ("customers.detail", "customer_id"),
                "carrier": ("carriers.detail", "carrier_id"),
                "admin_user": ("user_admin.edit", "user_id")}


@dataclass
class Filters:
    values: dict[str, str] = field(default_factory=dict)  # as typed, for the form
    object_type: str | None = None
    action: str | None = None
    username: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return any(self.values.values())


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def read_filters() -> Filters:
    """The filters of this request (parsed once); a date that is not YYYY-MM-DD is
    reported and ignored."""
    cached: Filters | None = g.get("audit_filters")
    if cached is not None:
        return cached
    values = {k: request.args.get(k, "").strip()[:64] for k in FILTERS}
    found = Filters(values=values, object_type=values["object_type"] or None,
                    action=values["operation"] or None, username=values["username"] or None)
    for key in ("since", "until"):
        if not values[key]:
            continue
        day = _day(values[key])
        if day is None:
            found.errors[key] = ["must be a date, YYYY-MM-DD"]
            continue
        start = datetime.combine(day, time.min, tzinfo=UTC)
        if key == "since":
            found.since = start
        else:
            found.until = start + timedelta(days=1)  # the "to" day is included
    g.audit_filters = found
    return found


def _keep_filters(endpoint: str, values: dict[str, Any]) -> None:
    """url_defaults: the list's URLs keep this request's filters unless told otherwise."""
    if values.pop("_no_filters", False) or endpoint not in LIST_ENDPOINTS:
        return
    if not has_request_context() or request.blueprint != "audit_log":
        return
    for key, value in read_filters().values.items():
        if value:
            values.setdefault(key, value)


bp.url_defaults(_keep_filters)


def _text(values: dict[str, Any] | None) -> str:
    return json.dumps(values, sort_keys=True, ensure_ascii=False) if values else ""


def entry_row(entry: AuditEntry) -> dict[str, Any]:
    return {"id": entry.id, "at": entry.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "username": entry.username, "action": entry.action,
            "object_type": entry.object_type, "object_id": entry.object_id,
            "summary": entry.summary, "before": _text(entry.before),
            "after": _text(entry.after)}


def _fetch(query: ListQuery) -> tuple[list[dict[str, Any]], int, int]:
    found = read_filters()
    if query.sort in ("at", "-at"):  # entries of the same instant: in the order made
        query = ListQuery(q=query.q, sort=f"{query.sort},{query.sort[:-2]}id",
                          page=query.page, per_page=query.per_page)
    page = service.search(db(), query, object_type=found.object_type, action=found.action,
                          username=found.username, since=found.since, until=found.until)
    return [entry_row(e) for e in page.items], page.total, page.pages


register_list_views(bp, "audit", LIST, _fetch, actor)


@bp.context_processor
def _filter_context() -> dict[str, Any]:
    if request.endpoint != "audit_log.index":
        return {"object_link": object_link}
    choices = service.known_values(db())
    choices["operation"] = choices.pop("action")
    return {"filters": read_filters(), "choices": choices,
            "object_link": object_link}


def object_link(object_type: str, object_id: int | None) -> str | None:
    target = OBJECT_PAGES.get(object_type)
    if target is None or object_id is None:
        return None
    endpoint, arg = target
    values: dict[str, Any] = {arg: object_id}
    return url_for(endpoint, **values)


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value if value else "(empty)"
    return json.dumps(value, ensure_ascii=False)


@bp.get("/audit/<int:entry_id>")
@login_required
def detail(entry_id: int) -> ResponseReturnValue:
    entry = service.get_entry(db(), entry_id)
    before, after = entry.before or {}, entry.after or {}
    both = entry.before is not None and entry.after is not None
    rows = [{"field": name,
             "before": _shown(before.get(name)) if entry.before is not None else "",
             "after": _shown(after.get(name)) if entry.after is not None else "",
             "changed": both and before.get(name) != after.get(name)}
            for name in sorted(before.keys() | after.keys())]
    return render_template("audit/detail.html", entry=entry, row=entry_row(entry), rows=rows,
                           link=object_link(entry.object_type, entry.object_id),
                           back=_back(request.args.get("back")))


def _back(target: str | None) -> str:
    """The filtered list the entry was opened from, if it is one (no open redirect)."""
    if target and target.startswith("/audit") and safe_next(target) == target:
        return target
    return url_for("audit_log.index", _no_filters=True)
