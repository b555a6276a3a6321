"""Service functions for admin users; the web admin, API and CLI all call these."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.db.types import utcnow
from orchestrator.users.models import ROLES, AdminUser
from orchestrator.users.passwords import DUMMY_HASH, hash_password, verify_password

MIN_PASSWORD_LENGTH = 10


class UserError(ValueError):
    """A request about users that cannot be carried out; the message says why."""


def create_user(session: Session, username: str, password: str, role: str = "admin") -> AdminUser:
    username = username.strip()
    if not username:
        raise UserError("username: must not be empty")
    if role not in ROLES:
        raise UserError(f"role: must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password: must be at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(AdminUser).where(AdminUser.username == username)):
        raise UserError(f"username: {username!r} already exists")
    user = AdminUser(username=username, password_hash=hash_password(password), role=role)
    session.add(user)
    session.flush()
    return user


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


def set_password(session: Session, username: str, password: str) -> None:
    user = session.scalar(select(AdminUser).where(AdminUser.username == username))
    if user is None:
        raise UserError(f"username: no user {username!r}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password: must be at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(password)
    user.must_change_password = False
