"""What the customer pages share: the blueprint, the acting user and the list spec."""

from __future__ import annotations

from flask import Blueprint

from orchestrator.actor import Actor
from webui.auth import current_actor
from webui.auth import require_write as auth_require_write
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


actor = current_actor


def require_write() -> Actor:
    """The actor, if it may change things; else the request ends with 403."""
    return auth_require_write("customers")


bp.add_app_template_global(list_url, "list_url")
bp.add_app_template_global(sort_link, "sort_link")
