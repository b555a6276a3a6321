"""Editing a draft revision one rate row at a time.

Only drafts change ("editing an active card creates a new draft, never mutates
it"): every function here answers ``Conflict("state", ...)`` (409) for an active or
archived revision. A row is validated exactly as a deck row is (prefix 1-20 digits,
unique in the revision; money a plain non-negative decimal with at most 8 places;
mcd/pulse 1-3600; status active|blocked). ``row_count`` follows adds and deletes.

The filtered transformation of a draft is in ``draft_transform``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    delete,
    select,
    update,
)
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.errors import Conflict, NotFound, ValidationFailed
from orchestrator.ratecards.models import RATE_STATUSES, Rate, RateRevision
from orchestrator.ratecards.money import (
    MoneyFormatError,
    format_units,
    parse_units,
)
from orchestrator.ratecards.revisions import ROW_COLUMNS, Card, _kind, get_revision

MAX_PREFIX = 20
MAX_NAME = 200
MAX_SECONDS = 3600
EDIT_FIELDS = ("name", "rate", "inter", "intra", "mcd", "pulse", "connect_fee", "status")
MONEY_FIELDS = ("rate", "inter", "intra", "connect_fee")
_PLAIN_DECIMAL = re.compile(r"^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")


# --- validation --------------------------------------------------------------

def text_value(value: object) -> str | None:
    """A cell as text (None/empty -> ""), or None when it cannot be one."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else None
    if isinstance(value, float):
        return repr(value)
    return None


def prefix_error(prefix: object) -> str | None:
    if not isinstance(prefix, str) or not prefix.strip():
        return "is required: 1-20 digits"
    text = prefix.strip()
    if text.startswith("+"):
        return "starts with '+': write digits only"
    if not (text.isdigit() and text.isascii()):
        return "must be digits only"
    if len(text) > MAX_PREFIX:
        return f"is longer than {MAX_PREFIX} digits"
    return None


def money_units(value: object, *, signed: bool = False) -> int:
    """A money cell as units; MoneyFormatError with the deck's message otherwise.

    One decimal comma is read as a point (``0,0123``), as the importer does.
    """
    text = text_value(value)
    if text is None or text == "":
        raise MoneyFormatError("is not a number")
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    sign = ""
    if text[:1] == "-" or (signed and text[:1] == "+"):
        sign, text = text[0], text[1:]
    if not _PLAIN_DECIMAL.match(text):
        raise MoneyFormatError("is not a number")
    if sign == "-" and not signed:
        raise MoneyFormatError("is negative")
    return parse_units(("-" if sign == "-" else "") + text)


def seconds_value(value: object) -> int:
    text = text_value(value)
    if text is None:
        raise ValueError("is not a positive whole number")
    if text == "":
        return 1
    if not (text.isdigit() and text.isascii()):
        raise ValueError("is not a positive whole number")
    seconds = int(text)
    if seconds < 1:
        raise ValueError("is not positive")
    if seconds > MAX_SECONDS:
        raise ValueError(f"is more than {MAX_SECONDS} seconds")
    return seconds


def validate_fields(data: Mapping[str, Any], *, required: bool
                    ) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The given row fields as column values (units, ints) and the errors per field.

    Empty means what it means in a deck: name "", inter/intra none, mcd/pulse 1,
    connect_fee 0, status active; ``rate`` must be given (when ``required`` or sent).
    """
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for key in data:
        if key not in EDIT_FIELDS and key != "prefix":
            errors[key] = ["is not a field of a rate"]
    if required and "rate" not in data:
        errors["rate"] = ["is required"]
    for field in EDIT_FIELDS:
        if field not in data:
            continue
        value = data[field]
        if field == "name":
            text = text_value(value) if isinstance(value, str) or value is None else None
            if text is None:
                errors[field] = ["must be text"]
            elif len(text) > MAX_NAME:
                errors[field] = [f"is longer than {MAX_NAME} characters"]
            else:
                values[field] = text
        elif field in MONEY_FIELDS:
            text = text_value(value)
            if text == "" and field != "rate":
                values[field] = 0 if field == "connect_fee" else None
                continue
            if text == "":
                errors[field] = ["is required"]
                continue
            try:
                values[field] = money_units(value)
            except MoneyFormatError as exc:
                errors[field] = [str(exc)]
        elif field in ("mcd", "pulse"):
            try:
                values[field] = seconds_value(value)
            except ValueError as exc:
                errors[field] = [str(exc)]
        else:  # status
            text = text_value(value) if isinstance(value, str) or value is None else None
            status = (text or "active").lower() if text is not None else None
            if status not in RATE_STATUSES:
                errors[field] = [f"must be one of {', '.join(RATE_STATUSES)}"]
            else:
                values[field] = status
    return values, errors


def row_to_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    """A rate row with money as decimal strings (for the audit log and answers)."""
    out = {c: row[c] for c in ROW_COLUMNS if c in row}
    for field in MONEY_FIELDS:
        if field in out and out[field] is not None:
            out[field] = format_units(int(out[field]))
    return out


# --- one row -------------------------------------------------------------------

def draft_revision(session: Session, actor: Actor, card: Card,
                   revision_id: int) -> RateRevision:
    """The card's revision ``revision_id`` if it is a draft the actor may change."""
    actor.require("write")
    revision = get_revision(session, actor, card, revision_id)
    if revision.state != "draft":
        raise Conflict("state", f"revision {revision.number} is {revision.state}: only a "
                       "draft can be edited (make a new draft copy first)")
    return revision


def _row(session: Session, revision_id: int, prefix: str) -> dict[str, Any] | None:
    found = session.execute(select(*(getattr(Rate, c) for c in ROW_COLUMNS)).where(
        Rate.revision_id == revision_id, Rate.prefix == prefix)).mappings().first()
    return dict(found) if found is not None else None


def get_rate(session: Session, actor: Actor, card: Card, revision_id: int,
             prefix: str) -> dict[str, Any]:
    """One row of any revision of the card (units), or NotFound."""
    revision = get_revision(session, actor, card, revision_id)
    row = _row(session, revision.id, prefix) if isinstance(prefix, str) else None
    if row is None:
        raise NotFound("prefix", prefix)
    return row


def add_rate(session: Session, actor: Actor, card: Card, revision_id: int,
             data: Mapping[str, Any]) -> dict[str, Any]:
    """Add one row to a draft; answers the stored row (money in units)."""
    revision = draft_revision(session, actor, card, revision_id)
    values, errors = validate_fields(data, required=True)
    prefix = data.get("prefix")
    if (error := prefix_error(prefix)) is not None:
        errors["prefix"] = [error]
    if errors:
        raise ValidationFailed(errors)
    assert isinstance(prefix, str)
    prefix = prefix.strip()
    if _row(session, revision.id, prefix) is not None:
        raise ValidationFailed.one("prefix", f"{prefix} is already in revision "
                                   f"{revision.number}: change that row instead")
    row = {"name": "", "inter": None, "intra": None, "mcd": 1, "pulse": 1,
           "connect_fee": 0, "status": "active"} | values
    session.add(Rate(revision_id=revision.id, prefix=prefix, **row))
    revision.row_count += 1
    session.flush()
    stored = _row(session, revision.id, prefix)
    assert stored is not None
    audit.record(session, actor, "create", "rate", revision.id,
                 f"rate {prefix} added to draft revision {revision.number} of "
                 f"{_kind(card)} {card.name}", after=row_to_dict(stored))
    return stored


def update_rate(session: Session, actor: Actor, card: Card, revision_id: int, prefix: str,
                data: Mapping[str, Any]) -> dict[str, Any]:
    """Change the given fields of one row of a draft; fields left out keep their value."""
    revision = draft_revision(session, actor, card, revision_id)
    before = _row(session, revision.id, prefix)
    if before is None:
        raise NotFound("prefix", prefix)
    values, errors = validate_fields(data, required=False)
    if "prefix" in data and str(data["prefix"]).strip() != prefix:
        errors["prefix"] = ["cannot be changed: delete the row and add another"]
    if errors:
        raise ValidationFailed(errors)
    if values:
        session.execute(update(Rate).where(Rate.revision_id == revision.id,
                                           Rate.prefix == prefix).values(**values),
                        execution_options={"synchronize_session": False})
        session.flush()
    after = _row(session, revision.id, prefix)
    assert after is not None
    audit.record(session, actor, "update", "rate", revision.id,
                 f"rate {prefix} of draft revision {revision.number} of {_kind(card)} "
                 f"{card.name} changed", before=row_to_dict(before), after=row_to_dict(after))
    return after


def delete_rate(session: Session, actor: Actor, card: Card, revision_id: int,
                prefix: str) -> None:
    revision = draft_revision(session, actor, card, revision_id)
    before = _row(session, revision.id, prefix)
    if before is None:
        raise NotFound("prefix", prefix)
    session.execute(delete(Rate).where(Rate.revision_id == revision.id,
                                       Rate.prefix == prefix),
                    execution_options={"synchronize_session": False})
    revision.row_count = max(0, revision.row_count - 1)
    session.flush()
    audit.record(session, actor, "delete", "rate", revision.id,
                 f"rate {prefix} deleted from draft revision {revision.number} of "
                 f"{_kind(card)} {card.name}", before=row_to_dict(before))
