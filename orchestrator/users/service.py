"""Service functions for admin users; the web admin, API and CLI all call these.

Every change is recorded in the audit log (secrets masked) in the caller's
transaction; refusals raise the errors of :mod:`orchestrator.errors`.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.actor import SYSTEM, Actor
from orchestrator.audit.service import MASK, record
from orchestrator.db.types import utcnow
from orchestrator.errors import Conflict, NotFound, ServiceError, ValidationFailed
from orchestrator.listing import ListQuery, Page, paginate
from orchestrator.users.models import ROLES, AdminUser
from orchestrator.users.passwords import DUMMY_HASH, hash_password, verify_password

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; refuse megabytes before hashing them
MAX_USERNAME_LENGTH = 64
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")
MAX_ID = 2**63 - 1
OBJECT_TYPE = "admin_user"

# Kept for callers that caught the old error type: every refusal is a ServiceError.
UserError = ServiceError


def _view(user: AdminUser) -> dict[str, Any]:
    return {"username": user.username, "role": user.role, "active": user.active}


def _username_errors(username: str) -> list[str]:
    if not username:
        return ["must not be empty"]
    if len(username) > MAX_USERNAME_LENGTH:
        return [f"must be at most {MAX_USERNAME_LENGTH} characters"]
    if not USERNAME_PATTERN.match(username):
        return ["may contain letters, digits and . _ @ - only, starting with a letter or digit"]
    return []


def _password_errors(password: str) -> list[str]:
    if len(password) < MIN_PASSWORD_LENGTH:
        return [f"must be at least {MIN_PASSWORD_LENGTH} characters"]
    if len(password) > MAX_PASSWORD_LENGTH:
        return [f"must be at most {MAX_PASSWORD_LENGTH} characters"]
    return []


def _role_errors(role: str) -> list[str]:
    return [] if role in ROLES else [f"must be one of {', '.join(ROLES)}"]


def _check_unique(session: Session, username: str, own_id: int | None) -> None:
    other = session.scalar(select(AdminUser).where(AdminUser.username == username))
    if other is not None and other.id != own_id:
        raise Conflict("username", f"{username!r} already exists")


def create_user(session: Session, username: str, password: str, role: str = "admin",
                active: bool = True, *, actor: Actor = SYSTEM) -> AdminUser:
    actor.require("admin")
    username = username.strip()
    errors = {field: msgs for field, msgs in (
        ("username", _username_errors(username)),
        ("password", _password_errors(password)),
        ("role", _role_errors(role))) if msgs}
    if errors:
        raise ValidationFailed(errors)
    _check_unique(session, username, None)
    user = AdminUser(username=username, password_hash=hash_password(password), role=role,
                     active=active)
    session.add(user)
    session.flush()
    record(session, actor, "create", OBJECT_TYPE, user.id, f"created {role} {username}",
           after={**_view(user), "password": MASK})
    return user


def get_user(session: Session, user_id: int) -> AdminUser:
    user = session.get(AdminUser, user_id) if 0 < user_id <= MAX_ID else None
    if user is None:
        raise NotFound("user", user_id)
    return user


def get_by_username(session: Session, username: str) -> AdminUser:
    user = session.scalar(select(AdminUser).where(AdminUser.username == username.strip()))
    if user is None:
        raise NotFound("user", username)
    return user


def list_users(session: Session, query: ListQuery) -> Page[AdminUser]:
    return paginate(session, select(AdminUser), query, search=[AdminUser.username],
                    sortable={"id": AdminUser.id, "username": AdminUser.username,
                              "role": AdminUser.role, "active": AdminUser.active,
                              "created_at": AdminUser.created_at,
                              "last_login_at": AdminUser.last_login_at},
                    default_sort="username")


def _other_active_admins(session: Session, user_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(AdminUser).where(
        AdminUser.role == "admin", AdminUser.active.is_(True),
        AdminUser.id != user_id)) or 0)


def _is_active_admin(user: AdminUser) -> bool:
    return user.role == "admin" and user.active


def update_user(session: Session, user_id: int, *, actor: Actor, username: str | None = None,
                role: str | None = None, active: bool | None = None,
                password: str | None = None) -> AdminUser:
    """Change some fields; the last active administrator keeps role and access."""
    actor.require("admin")
    user = get_user(session, user_id)
    errors: dict[str, list[str]] = {}
    if username is not None:
        username = username.strip()
        if msgs := _username_errors(username):
            errors["username"] = msgs
    if role is not None and (msgs := _role_errors(role)):
        errors["role"] = msgs
    if password is not None and (msgs := _password_errors(password)):
        errors["password"] = msgs
    if errors:
        raise ValidationFailed(errors)
    if username is not None:
        _check_unique(session, username, user.id)
    losing_admin = (role is not None and role != "admin") or active is False
    if losing_admin and _is_active_admin(user) and not _other_active_admins(session, user.id):
        field = "role" if role is not None and role != "admin" else "active"
        raise Conflict(field, "the last active administrator must stay an active admin")
    before = _view(user)
    if username is not None:
        user.username = username
    if role is not None:
        user.role = role
    if active is not None:
        user.active = active
    after = _view(user)
    if password is not None:
        user.password_hash = hash_password(password)
        before["password"], after["password"] = "", MASK  # shows that it changed
    if before != after:
        session.flush()
        record(session, actor, "update", OBJECT_TYPE, user.id, f"updated {user.username}",
               before=before, after=after)
    return user


def delete_user(session: Session, user_id: int, *, actor: Actor) -> None:
    actor.require("admin")
    user = get_user(session, user_id)
    if _is_active_admin(user) and not _other_active_admins(session, user.id):
        raise Conflict("id", "the last active administrator cannot be deleted")
    record(session, actor, "delete", OBJECT_TYPE, user.id, f"deleted {user.username}",
           before=_view(user))
    session.delete(user)
    session.flush()


def authenticate(session: Session, username: str, password: str) -> AdminUser | None:
    """The active user with this username and password, else None (same time either way)."""
    user = session.scalar(select(AdminUser).where(AdminUser.username == username.strip()))
    if user is None or not user.active:
        verify_password(DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    user.last_login_at = utcnow()
    return user


def ensure_initial_admin(session: Session) -> str | None:
    """Create user ``admin`` with a random password when no user exists.

    Returns the one-time password to print, or None when users already exist.
    """
    if session.scalar(select(func.count()).select_from(AdminUser)):
        return None
    password = secrets.token_urlsafe(12)
    user = create_user(session, "admin", password, "admin")
    user.must_change_password = True
    return password


def set_password(session: Session, username: str, password: str, *,
                 actor: Actor = SYSTEM) -> None:
    """Set a password: one's own, or anyone's for an administrator."""
    user = get_by_username(session, username)
    if actor.user_id != user.id:
        actor.require("admin")
    if msgs := _password_errors(password):
        raise ValidationFailed({"password": msgs})
    user.password_hash = hash_password(password)
    user.must_change_password = False
    record(session, actor, "update", OBJECT_TYPE, user.id, f"password of {user.username} set",
           before={"password": ""}, after={"password": MASK})
