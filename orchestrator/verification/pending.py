"""What still needs verifying: the notification menu of the web admin and
``GET /api/v1/notifications``.

For the signed-in user: their own email and mobile until verified (the seed guide's
"Verify Email" / "Verify Mobile"). For everyone: the customers with
``verification_required`` whose email or mobile is not verified (their calls are
refused with ``403 Verification Required``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.customers.models import Customer
from orchestrator.users.models import AdminUser
from orchestrator.verification.models import CHANNELS
from orchestrator.verification.subjects import target, verified

DEFAULT_LIMIT = 50


def _needing() -> ColumnElement[bool]:
    return Customer.verification_required.is_(True) & or_(
        Customer.email_verified.is_(False), Customer.mobile_verified.is_(False))


def customers_needing_count(session: Session) -> int:
    """One COUNT: customers whose calls wait for verification."""
    return int(session.scalar(select(func.count()).select_from(Customer)
                              .where(_needing())) or 0)


def customers_needing(session: Session, actor: Actor,
                      limit: int = DEFAULT_LIMIT) -> list[dict[str, Any]]:
    """Those customers by name (at most ``limit``)."""
    actor.require("read")
    rows = session.scalars(select(Customer).where(_needing())
                           .order_by(func.lower(Customer.name)).limit(limit))
    return [{"id": c.id, "name": c.name, "status": c.status, "email": c.email,
             "email_verified": c.email_verified, "mobile": c.mobile,
             "mobile_verified": c.mobile_verified} for c in rows]


def account_items(account: AdminUser) -> list[dict[str, Any]]:
    """The account's channels not verified yet (no query: the user is loaded)."""
    return [{"channel": c, "target": target(account, c),
             "label": f"Verify your {c}"} for c in CHANNELS if not verified(account, c)]


def notifications(session: Session, actor: Actor, account: AdminUser,
                  limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    actor.require("read")
    mine = account_items(account)
    count = customers_needing_count(session)
    return {"count": len(mine) + count,
            "account": {"user_id": account.id, "username": account.username,
                        "email": account.email, "email_verified": account.email_verified,
                        "mobile": account.mobile, "mobile_verified": account.mobile_verified,
                        "items": mine},
            "customers": {"count": count, "items": customers_needing(session, actor, limit)}}
