"""SIP users (digest authentication) of a customer.

The password is write-only: only HA1 = md5("username:realm:password") is stored, with
the realm it was computed for (settings.sip_realm). Because HA1 depends on the
username, renaming a SIP user needs a new password.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.customers.models import SipUser
from orchestrator.customers.service import iso, load_customer
from orchestrator.customers.validation import BadValue, Errors, Parser, clean, integer, network
from orchestrator.errors import Conflict, NotFound
from orchestrator.settings import Settings

OBJECT_TYPE = "sip_user"
USERNAME = re.compile(r"^[A-Za-z0-9._-]{3,64}$")
MIN_PASSWORD, MAX_PASSWORD = 8, 128


def compute_ha1(username: str, realm: str, password: str) -> str:
    return hashlib.md5(f"{username}:{realm}:{password}".encode()).hexdigest()


def _username(value: Any) -> str:
    if not isinstance(value, str) or not USERNAME.match(value.strip()):
        raise BadValue("must be 3 to 64 characters: letters, digits, dot, dash, underscore")
    return value.strip()


def _password(value: Any) -> str:
    if not isinstance(value, str) or not MIN_PASSWORD <= len(value) <= MAX_PASSWORD:
        raise BadValue(f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise BadValue("must not contain control characters")
    return value


def _allowed_ips(value: Any) -> str:
    """A list of CIDRs (or one string separated by commas, spaces or newlines)."""
    if value is None:
        return ""
    if isinstance(value, str):
        items = [v for v in re.split(r"[\s,;]+", value) if v]
    elif isinstance(value, list):
        items = value
    else:
        raise BadValue("must be a list of IP addresses or CIDR networks")
    problems: list[str] = []
    out: list[str] = []
    for item in items:
        try:
            text = str(network(item))
        except BadValue as exc:
            problems.append(str(exc))
            continue
        if text not in out:
            out.append(text)
    if problems:
        raise BadValue("; ".join(problems))
    return "\n".join(out)


SIP_USER_SPEC: dict[str, Parser] = {
    "username": _username,
    "password": _password,
    "channels": integer(),
    "cps": integer(),
    "allowed_ips": _allowed_ips,
}


def sip_user_to_dict(user: SipUser) -> dict[str, Any]:
    """The SIP user without any secret (no password, no HA1)."""
    return {"id": user.id, "customer_id": user.customer_id, "username": user.username,
            "realm": user.realm, "channels": user.channels, "cps": user.cps,
            "allowed_ips": user.allowed_ips.split("\n") if user.allowed_ips else [],
            "created_at": iso(user.created_at)}


def _audit_view(user: SipUser) -> dict[str, Any]:
    view = sip_user_to_dict(user)
    del view["created_at"]
    view["ha1"] = user.ha1  # masked by the audit log
    return view


def _check_username_free(session: Session, username: str, own_id: int | None) -> None:
    other = session.scalar(select(SipUser).where(
        func.lower(SipUser.username) == username.lower()))
    if other is not None and other.id != own_id:
        raise Conflict("username", f"SIP username {other.username!r} is already taken "
                       "(usernames are unique across the switch, ignoring case)")


def _flush(session: Session, username: str) -> None:
    """Flush; a unique violation from a concurrent writer becomes a Conflict."""
    try:
        session.flush()
    except IntegrityError as exc:  # the caller's transaction must now be rolled back
        raise Conflict("username", f"SIP username {username!r} is already taken") from exc


def _realm(realm: str | None) -> str:
    return realm if realm is not None else Settings().sip_realm


def list_sip_users(session: Session, actor: Actor, customer_id: int) -> list[SipUser]:
    actor.require("read")
    return list(load_customer(session, customer_id).sip_users)


def get_sip_user(session: Session, customer_id: int, sip_user_id: int) -> SipUser:
    user = session.get(SipUser, sip_user_id)
    if user is None or user.customer_id != customer_id:
        raise NotFound("SIP user", sip_user_id)
    return user


def add_sip_user(session: Session, actor: Actor, customer_id: int, data: Mapping[str, Any],
                 *, realm: str | None = None) -> SipUser:
    """Create a SIP user: username and password required; channels, cps, allowed_ips."""
    actor.require("write")
    customer = load_customer(session, customer_id)
    errors = Errors()
    values = clean(data, SIP_USER_SPEC, errors, required=("username", "password"))
    if values.get("password") and values.get("password") == values.get("username"):
        errors.add("password", "must not be the username")
    errors.check()
    _check_username_free(session, values["username"], None)
    password = values.pop("password")
    user = SipUser(**values, realm=_realm(realm))
    user.ha1 = compute_ha1(user.username, user.realm, password)
    customer.sip_users.append(user)
    _flush(session, user.username)
    audit.record(session, actor, "create", OBJECT_TYPE, user.id,
                 f"customer {customer.name}: SIP user {user.username} added",
                 after=_audit_view(user))
    return user


def update_sip_user(session: Session, actor: Actor, customer_id: int, sip_user_id: int,
                    data: Mapping[str, Any], *, realm: str | None = None) -> SipUser:
    """Change the given fields; a new username needs a new password (HA1 depends on it)."""
    actor.require("write")
    customer = load_customer(session, customer_id)
    user = get_sip_user(session, customer_id, sip_user_id)
    errors = Errors()
    values = clean(data, SIP_USER_SPEC, errors)
    username = values.get("username", user.username)
    if username != user.username and "password" not in values and "password" not in \
            errors.errors:
        errors.add("password", "is required when the username changes: the stored hash "
                   "depends on the username")
    if values.get("password") and values.get("password") == username:
        errors.add("password", "must not be the username")
    errors.check()
    if username != user.username:
        _check_username_free(session, username, user.id)
    before = _audit_view(user)
    password = values.pop("password", None)
    for field, value in values.items():
        setattr(user, field, value)
    if password is not None:
        user.realm = _realm(realm)
        user.ha1 = compute_ha1(user.username, user.realm, password)
    _flush(session, user.username)
    after = _audit_view(user)
    if password is not None:
        after["password"] = password  # masked by the audit log: records that it was set
    if after != before:
        audit.record(session, actor, "update", OBJECT_TYPE, user.id,
                     f"customer {customer.name}: SIP user {user.username} updated",
                     before=before, after=after)
    return user


def delete_sip_user(session: Session, actor: Actor, customer_id: int,
                    sip_user_id: int) -> None:
    actor.require("write")
    customer = load_customer(session, customer_id)
    user = get_sip_user(session, customer_id, sip_user_id)
    before = _audit_view(user)
    customer.sip_users.remove(user)
    session.delete(user)
    session.flush()
    audit.record(session, actor, "delete", OBJECT_TYPE, sip_user_id,
                 f"customer {customer.name}: SIP user {before['username']} removed",
                 before=before)


__all__ = ["add_sip_user", "compute_ha1", "delete_sip_user",
           "get_sip_user", "list_sip_users", "sip_user_to_dict", "update_sip_user"]
