"""API bearer tokens: created once, shown once, stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit.service import record
from orchestrator.db.types import utcnow
from orchestrator.errors import NotFound, ValidationFailed
from orchestrator.listing import ListQuery, Page, paginate
from orchestrator.users.models import AdminUser, ApiToken

TOKEN_PREFIX = "orc_"
MAX_TOKEN_LENGTH = 200
MAX_NAME_LENGTH = 100
MAX_EXPIRES_DAYS = 3650
TOUCH_EVERY = timedelta(seconds=60)  # last_used_at is written at most once a minute
OBJECT_TYPE = "api_token"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def is_active(token: ApiToken, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return token.revoked_at is None and (
        token.expires_at is None or aware(token.expires_at) > now)


def create_token(session: Session, user: AdminUser, *, actor: Actor, name: str = "",
                 expires_in_days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``; the clear token is returned here and never again."""
    name = name.strip()
    errors: dict[str, list[str]] = {}
    if len(name) > MAX_NAME_LENGTH:
        errors["name"] = [f"must be at most {MAX_NAME_LENGTH} characters"]
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRES_DAYS:
        errors["expires_in_days"] = [f"must be between 1 and {MAX_EXPIRES_DAYS}"]
    if errors:
        raise ValidationFailed(errors)
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(user_id=user.id, name=name, token_hash=hash_token(clear),
                     prefix=clear[:12], created_at=now,
                     expires_at=now + timedelta(days=expires_in_days)
                     if expires_in_days else None)
    session.add(token)
    session.flush()
    record(session, actor, "create", OBJECT_TYPE, token.id,
           f"token {token.prefix}… for {user.username}",
           after={"user_id": user.id, "name": name, "prefix": token.prefix,
                  "expires_at": token.expires_at})
    return token, clear


def resolve(session: Session, clear: str) -> tuple[ApiToken, AdminUser] | None:
    """The token and its active user, or None when unknown, revoked or expired."""
    if not clear or len(clear) > MAX_TOKEN_LENGTH:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(clear)))
    now = utcnow()
    if token is None or not is_active(token, now):
        return None
    user = token.user
    if user is None or not user.active:
        return None
    if token.last_used_at is None or aware(token.last_used_at) < now - TOUCH_EVERY:
        token.last_used_at = now
    return token, user


def list_tokens(session: Session, query: ListQuery, *, actor: Actor,
                everyone: bool = False) -> Page[ApiToken]:
    """The actor's tokens; with ``everyone``, all users' (administrators only)."""
    stmt = select(ApiToken)
    if everyone:
        actor.require("admin")
    else:
        stmt = stmt.where(ApiToken.user_id == actor.user_id)
    return paginate(session, stmt, query, search=[ApiToken.name, ApiToken.prefix],
                    sortable={"id": ApiToken.id, "name": ApiToken.name,
                              "created_at": ApiToken.created_at,
                              "last_used_at": ApiToken.last_used_at,
                              "expires_at": ApiToken.expires_at},
                    default_sort="-created_at")


def revoke_token(session: Session, token_id: int, *, actor: Actor) -> ApiToken:
    """Revoke one's own token, or anyone's for an administrator (idempotent)."""
    token = session.get(ApiToken, token_id) if 0 < token_id < 2**63 else None
    if token is None or (token.user_id != actor.user_id and not actor.can("admin")):
        raise NotFound("token", token_id)  # others' tokens are not disclosed
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(session, actor, "revoke", OBJECT_TYPE, token.id,
               f"revoked token {token.prefix}…", before={"revoked_at": None},
               after={"revoked_at": token.revoked_at})
    return token

