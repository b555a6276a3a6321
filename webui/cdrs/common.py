"""What the CDR and statistics pages share: the blueprint, form values, choices."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from flask import Blueprint
from sqlalchemy import select

from orchestrator.billing.search import as_utc
from orchestrator.carriers.models import Carrier
from orchestrator.customers.models import Customer
from orchestrator.ratecards.money import format_units
from webui.db import db

bp = Blueprint("cdrs", __name__)


def form_values(args: Mapping[str, str], keys: Iterable[str]) -> dict[str, str]:
    return {key: args.get(key, "").strip()[:100] for key in keys}


def local_input(value: datetime) -> str:
    """A UTC time as the value of an ``<input type="datetime-local">``."""
    return as_utc(value).strftime("%Y-%m-%dT%H:%M")


def choices(model: Any) -> list[tuple[int, str]]:
    """(id, name) of every customer or carrier, by name, for a filter's select."""
    return [(i, n) for i, n in db().execute(select(model.id, model.name).order_by(model.name))]


def customer_choices() -> list[tuple[int, str]]:
    return choices(Customer)


def carrier_choices() -> list[tuple[int, str]]:
    return choices(Carrier)


def money(units: int | None) -> str:
    """Units as a decimal without trailing zeros past the second place (exact)."""
    if units is None:
        return ""
    whole, _, frac = format_units(int(units)).partition(".")
    return f"{whole}.{frac.rstrip('0').ljust(2, '0')}"


def seconds(ms: int | None) -> str:
    return "" if ms is None else f"{ms / 1000:.1f}"


bp.add_app_template_filter(money, "cdr_money")
bp.add_app_template_filter(seconds, "cdr_seconds")
