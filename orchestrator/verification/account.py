"""A user's own email and mobile (verified like a customer's: codes.py).

Changing the email (or mobile) makes it unverified and its codes useless.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.customers.validation import Errors, Parser, clean, email, mobile
from orchestrator.users.models import AdminUser
from orchestrator.verification import subjects

CONTACT_SPEC: dict[str, Parser] = {"email": email, "mobile": mobile}


def update_contact(session: Session, actor: Actor, user_id: int,
                   data: Mapping[str, Any]) -> AdminUser:
    """Set the given fields of the actor's own account (``email``, ``mobile``)."""
    account = subjects.load(session, actor, subjects.user(user_id), "read")
    assert isinstance(account, AdminUser)
    errors = Errors()
    values = clean(data, CONTACT_SPEC, errors)
    errors.check()
    before = subjects.contact_view(account)
    for channel, value in values.items():
        if value != subjects.target(account, channel):
            setattr(account, channel, value)
            subjects.set_verified(account, channel, False)
    after = subjects.contact_view(account)
    if after != before:
        session.flush()
        audit.record(session, actor, "update", "admin_user", account.id,
                     f"contact details of {account.username} updated", before=before,
                     after=after)
    return account
