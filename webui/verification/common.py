"""The blueprint and the template globals of the verification pages."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, g

from orchestrator.verification import codes, pending, subjects
from webui.auth import current_actor, current_user
from webui.db import db

log = logging.getLogger(__name__)

bp = Blueprint("verification", __name__)


@bp.app_template_global()
def notification_menu() -> dict[str, Any]:
    """The bell's items, once per request: the account's unverified channels (the user
    is already loaded) and one COUNT of customers awaiting verification. A failed
    count is logged and shows none (the page itself must not fail)."""
    if "notification_menu" not in g:
        user = current_user()
        menu: dict[str, Any] = {"count": 0, "account": [], "customers": 0}
        if user is not None:
            menu["account"] = pending.account_items(user)
            try:
                menu["customers"] = pending.customers_needing_count(db())
            except Exception:
                log.exception("customers awaiting verification could not be counted")
            menu["count"] = len(menu["account"]) + menu["customers"]
        g.notification_menu = menu
    answer: dict[str, Any] = g.notification_menu
    return answer


@bp.app_template_global()
def verification_state(customer_id: int | None = None) -> dict[str, Any]:
    """A customer's verification state (its panel), or the signed-in user's own."""
    who = current_actor()
    subject = (subjects.customer(customer_id) if customer_id is not None
               else subjects.user(who.user_id or 0))
    return codes.state(db(), who, subject)
