"""What the customer pages share: the blueprint, the acting user and the list spec."""

from __future__ import annotations

from flask import Blueprint, abort

from orchestrator.actor import Actor
from webui.auth import current_user
from webui.lists import Column, ListSpec, list_url, sort_link

bp = Blueprint("customers", __name__)

LIST = ListSpec(
    name="customers",
    columns=(
        Column("name", "Name", sort="name", always=True),
        Column("status", "Status", sort="status"),
        Column("currency", "Currency", sort="currency"),
        Column("balance", "Balance", numeric=True),
        Column("channels", "Channels", numeric=True),
        Column("cps", "CPS", numeric=True),
        Column("email", "Email"),
        Column("city", "City"),
        Column("created_at", "Created", sort="created_at"),
    ),
    default_sort="name",
)


def actor() -> Actor:
    """The signed-in user as the service layer's Actor (login_required ran first)."""
    user = current_user()
    if user is None:
        abort(401)
    return Actor(user.id, user.username, user.role)


def require_write() -> Actor:
    """The actor, if it may change things; else the request ends with 403."""
    who = actor()
    if not who.can("write"):
        abort(403, f"Your role ({who.role}) can only view customers.")
    return who


bp.add_app_template_global(list_url, "list_url")
bp.add_app_template_global(sort_link, "sort_link")
