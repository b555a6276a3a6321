"""Recording and reading the audit log."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit.models import AuditEntry
from orchestrator.errors import NotFound
from orchestrator.listing import ListQuery, Page, paginate

MASK = "********"
# Field names whose values never reach the log in clear.
SECRET_FIELDS = frozenset({"password", "portal_password", "portal_password_encrypted", "ha1",
                           "password_hash", "token", "token_hash", "secret"})


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def snapshot(values: dict[str, Any] | None) -> dict[str, Any] | None:
    """JSON-safe copy with secrets masked."""
    if values is None:
        return None
    return {k: (MASK if k in SECRET_FIELDS and v else _plain(v)) for k, v in values.items()}


def record(session: Session, actor: Actor, action: str, object_type: str,
           object_id: int | None, summary: str = "", before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None) -> AuditEntry:
    """Add an entry in the caller's transaction (it commits or rolls back with the change).

    For updates only the fields that changed are kept.
    """
    before_s, after_s = snapshot(before), snapshot(after)
    if before_s is not None and after_s is not None:
        changed = {k for k in before_s.keys() | after_s.keys()
                   if before_s.get(k) != after_s.get(k)}
        before_s = {k: v for k, v in before_s.items() if k in changed}
        after_s = {k: v for k, v in after_s.items() if k in changed}
    entry = AuditEntry(user_id=actor.user_id, username=actor.username, action=action,
                       object_type=object_type, object_id=object_id, summary=summary[:255],
                       before=before_s, after=after_s)
    session.add(entry)
    return entry


def search(session: Session, query: ListQuery, *, object_type: str | None = None,
           username: str | None = None, since: datetime | None = None,
           until: datetime | None = None, action: str | None = None) -> Page[AuditEntry]:
    stmt = select(AuditEntry)
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if username:
        stmt = stmt.where(AuditEntry.username == username)
    if since:
        stmt = stmt.where(AuditEntry.at >= since)
    if until:
        stmt = stmt.where(AuditEntry.at < until)
    return paginate(session, stmt, query,
                    search=[AuditEntry.summary, AuditEntry.username, AuditEntry.object_type],
                    sortable={"id": AuditEntry.id, "at": AuditEntry.at,
                              "username": AuditEntry.username},
                    default_sort="-at")


def get_entry(session: Session, entry_id: int) -> AuditEntry:
    entry = session.get(AuditEntry, entry_id) if 0 < entry_id <= 2**63 - 1 else None
    if entry is None:
        raise NotFound("audit entry", entry_id)
    return entry


def known_values(session: Session) -> dict[str, list[str]]:
    """The object types, actions and usernames present in the log (for filter choices)."""
    return {name: sorted(v for v in session.scalars(select(column).distinct()) if v)
            for name, column in (("object_type", AuditEntry.object_type),
                                 ("action", AuditEntry.action),
                                 ("username", AuditEntry.username))}
