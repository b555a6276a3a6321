"""What the carrier pages share: the blueprint, the acting user and the list spec."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.carriers import payments, service
from orchestrator.carriers.models import Carrier
from orchestrator.errors import Conflict, ValidationFailed
from webui.auth import current_actor
from webui.auth import require_write as auth_require_write
from webui.lists import Column, ListSpec

bp = Blueprint("carriers", __name__)

LIST = ListSpec(
    name="carriers",
    columns=(
        Column("name", "Name", sort="name", always=True),
        Column("status", "Status", sort="status"),
        Column("currency", "Currency", sort="currency"),
        Column("balance", "Balance", numeric=True),
        Column("gateways", "Gateways", numeric=True),
        Column("channels", "Channels", numeric=True),
        Column("cps", "CPS", numeric=True),
        Column("website", "Website"),
        Column("city", "City"),
        Column("country", "Country"),
        Column("created_at", "Created", sort="created_at"),
    ),
    default_sort="name",
    hidden_by_default=frozenset({"website", "country"}),
)


actor = current_actor


def require_write() -> Actor:
    """The actor, if it may change things; else the request ends with 403."""
    return auth_require_write("carriers")


def carrier_row(session: Session, carrier: Carrier) -> dict[str, Any]:
    """The service's view of a carrier plus its balance and gateway count (list, CSV)."""
    row = service.to_dict(carrier)
    row["balance"] = service.format_money(payments.balance(session, carrier.id))
    row["gateways"] = len(carrier.gateways)
    return row


def errors_of(exc: ValidationFailed | Conflict) -> dict[str, list[str]]:
    if isinstance(exc, Conflict):
        return {exc.field: [exc.message]}
    return exc.errors


def status_of(exc: ValidationFailed | Conflict) -> int:
    return 409 if isinstance(exc, Conflict) else 422
