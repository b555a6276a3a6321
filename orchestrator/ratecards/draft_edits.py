"""Editing a draft revision: one rate row at a time, or a filtered transformation.

Only drafts change ("editing an active card creates a new draft, never mutates
it"): every function here answers ``Conflict("state", ...)`` (409) for an active or
archived revision. A row is validated exactly as a deck row is (prefix 1-20 digits,
unique in the revision; money a plain non-negative decimal with at most 8 places;
mcd/pulse 1-3600; status active|blocked). ``row_count`` follows adds and deletes.

A transformation is two set-based statements, never a loop over rows: a check
(``SELECT COUNT(*), SUM(result would leave 0..Int64) ... WHERE filter``) and one
``UPDATE rates SET ... WHERE filter``. The prefix filter is a regular expression of
the profit rules' dialect matched from the start of the prefix (``^(?:pattern)``);
on SQLite it runs through the ``regexp`` function ``make_engine`` registers (Python
``re``: about 1.5 s per scan of a million rows. The other way, ``read_rates`` into
polars, ``str.contains``, then UPDATE by prefix lists in chunks, measured about 4 s
for the read of a million rows alone); a plain digit string becomes a key range.
Multiplying is exact integer arithmetic done in SQL: with the factor in units
``f = fh * 10^8 + fl``, ``rate * f / 10^8`` rounded half-up is
``rate*fh + (rate / 10^8)*fl + ((rate % 10^8)*fl + 10^8/2) / 10^8`` (integer
division), which equals ``money.round_units(rate * f, 10^8, "half_up")`` and never
overflows once the check has refused rows whose result would not fit Int64.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    String,
    case,
    delete,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.errors import Conflict, NotFound, ValidationFailed
from orchestrator.listing import like_pattern
from orchestrator.ratecards.models import RATE_STATUSES, Rate, RateRevision
from orchestrator.ratecards.money import (
    MAX_UNITS,
    SCALE,
    MoneyFormatError,
    format_units,
    parse_units,
    round_units,
)
from orchestrator.ratecards.revisions import ROW_COLUMNS, Card, _kind, get_revision
from orchestrator.ratecards.rules import anchored_pattern, match_error

MAX_PREFIX = 20
MAX_NAME = 200
MAX_SECONDS = 3600
SAMPLE_ROWS = 20
EDIT_FIELDS = ("name", "rate", "inter", "intra", "mcd", "pulse", "connect_fee", "status")
MONEY_FIELDS = ("rate", "inter", "intra", "connect_fee")
FILTER_FIELDS = ("prefix", "name", "rate_min", "rate_max", "status")
CHANGE_TYPES = ("set_rate", "add_rate", "multiply_rate", "set_billing", "set_status")
MAX_FACTOR = Decimal(1_000_000)
_PLAIN_DECIMAL = re.compile(r"^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")


# --- validation --------------------------------------------------------------

def _text(value: object) -> str | None:
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
    text = _text(value)
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


def _seconds(value: object) -> int:
    text = _text(value)
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
            text = _text(value) if isinstance(value, str) or value is None else None
            if text is None:
                errors[field] = ["must be text"]
            elif len(text) > MAX_NAME:
                errors[field] = [f"is longer than {MAX_NAME} characters"]
            else:
                values[field] = text
        elif field in MONEY_FIELDS:
            text = _text(value)
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
                values[field] = _seconds(value)
            except ValueError as exc:
                errors[field] = [str(exc)]
        else:  # status
            text = _text(value) if isinstance(value, str) or value is None else None
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


# --- filtered transformation -----------------------------------------------------

def _filter_conditions(revision_id: int, flt: Mapping[str, Any]
                       ) -> list[ColumnElement[bool]]:
    """WHERE conditions of a filter; ValidationFailed naming ``filter.<field>``."""
    errors: dict[str, list[str]] = {}
    conditions: list[ColumnElement[bool]] = [Rate.revision_id == revision_id]
    for key in flt:
        if key not in FILTER_FIELDS:
            errors[f"filter.{key}"] = ["is not a filter field"]
    pattern = flt.get("prefix") or ""
    if not isinstance(pattern, str):
        errors["filter.prefix"] = ["must be text"]
    elif (error := match_error(pattern.strip())) is not None:
        errors["filter.prefix"] = [error]
    elif pattern.strip():
        pattern = pattern.strip()
        if pattern.isdigit() and pattern.isascii():  # a key range, not a regex scan
            conditions += [Rate.prefix >= pattern, Rate.prefix < pattern + ":"]
        else:
            conditions.append(Rate.prefix.regexp_match(anchored_pattern(pattern)))
    name = flt.get("name") or ""
    if not isinstance(name, str):
        errors["filter.name"] = ["must be text"]
    elif len(name) > MAX_NAME:
        errors["filter.name"] = [f"is longer than {MAX_NAME} characters"]
    elif name.strip():
        conditions.append(func.lower(Rate.name).like(like_pattern(name.strip().lower()),
                                                     escape="\\"))
    bounds: dict[str, int] = {}
    for key in ("rate_min", "rate_max"):
        if _text(flt.get(key)) == "":
            continue
        try:
            bounds[key] = money_units(flt.get(key))
        except MoneyFormatError as exc:
            errors[f"filter.{key}"] = [str(exc)]
    if "rate_min" in bounds and "rate_max" in bounds and bounds["rate_min"] > bounds["rate_max"]:
        errors["filter.rate_max"] = ["is below rate_min"]
    if "rate_min" in bounds:
        conditions.append(Rate.rate >= bounds["rate_min"])
    if "rate_max" in bounds:
        conditions.append(Rate.rate <= bounds["rate_max"])
    status = flt.get("status") or ""
    if not isinstance(status, str) or status.strip().lower() not in ("", *RATE_STATUSES):
        errors["filter.status"] = [f"must be empty or one of {', '.join(RATE_STATUSES)}"]
    elif status.strip():
        conditions.append(Rate.status == status.strip().lower())
    if errors:
        raise ValidationFailed(errors)
    return conditions


def _big(value: int) -> ColumnElement[int]:
    return literal(value, BigInteger)


def multiply_expr(column: ColumnElement[int], factor_units: int) -> ColumnElement[int]:
    """``column * factor_units / 10^8`` rounded half-up, exact in Int64 SQL arithmetic
    (the caller has refused rows whose result would not fit)."""
    whole, frac = divmod(factor_units, SCALE)
    expr: ColumnElement[int] = column * _big(whole)
    if frac:
        expr = (expr + (column // _big(SCALE)) * _big(frac)
                + ((column % _big(SCALE)) * _big(frac) + _big(SCALE // 2)) // _big(SCALE))
    return expr


def multiply_reference(units: int, factor_units: int) -> int:
    """The same in Python (money.round_units, half_up): tests and one-off use."""
    return round_units(units * factor_units, SCALE, "half_up")


def _parse_change(change: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(type, values) of a change; ValidationFailed naming ``change.<field>``."""
    kind = change.get("type")
    if kind not in CHANGE_TYPES:
        raise ValidationFailed.one("change.type", f"must be one of {', '.join(CHANGE_TYPES)}")
    errors: dict[str, list[str]] = {}
    allowed = {"type", *({"value"} if kind.endswith("_rate") else
                         {"mcd", "pulse"} if kind == "set_billing" else {"status"})}
    for key in change:
        if key not in allowed:
            errors[f"change.{key}"] = [f"is not used by {kind}"]
    out: dict[str, Any] = {}
    if kind.endswith("_rate"):
        if _text(change.get("value")) == "":
            errors["change.value"] = ["is required"]
        else:
            try:
                out["value"] = money_units(change.get("value"), signed=kind == "add_rate")
            except MoneyFormatError as exc:
                errors["change.value"] = [str(exc)]
            if (kind == "multiply_rate" and "value" in out
                    and out["value"] > MAX_FACTOR * SCALE):
                errors["change.value"] = [f"may not be above {MAX_FACTOR}"]
    elif kind == "set_billing":
        for key in ("mcd", "pulse"):
            if change.get(key) is None or change.get(key) == "":
                continue
            try:
                out[key] = _seconds(change[key])
            except ValueError as exc:
                errors[f"change.{key}"] = [str(exc)]
        if not out and not errors:
            errors["change.mcd"] = ["give mcd, pulse or both"]
    else:
        status = change.get("status")
        if not isinstance(status, str) or status.strip().lower() not in RATE_STATUSES:
            errors["change.status"] = [f"must be one of {', '.join(RATE_STATUSES)}"]
        else:
            out["status"] = status.strip().lower()
    if errors:
        raise ValidationFailed(errors)
    return str(kind), out


def _new_values(kind: str, values: dict[str, Any]) -> dict[str, ColumnElement[Any]]:
    rate: ColumnElement[int] = Rate.rate  # type: ignore[assignment]
    if kind == "set_rate":
        return {"rate": _big(values["value"])}
    if kind == "add_rate":
        return {"rate": rate + _big(values["value"])}
    if kind == "multiply_rate":
        return {"rate": multiply_expr(rate, values["value"])}
    if kind == "set_billing":
        return {k: literal(v, Integer) for k, v in values.items()}
    return {"status": literal(values["status"], String)}


def _out_of_range(kind: str, values: dict[str, Any]) -> tuple[ColumnElement[bool], str] | None:
    """Rows whose new rate would leave 0..Int64, with the message; None: none can."""
    if kind == "add_rate" and values["value"] < 0:
        return Rate.rate < -values["value"], "below 0"
    if kind == "add_rate" and values["value"] > 0:
        return Rate.rate > MAX_UNITS - values["value"], "above the largest amount"
    if kind == "multiply_rate" and values["value"] > 0:
        limit = ((MAX_UNITS + 1) * SCALE - SCALE // 2 - 1) // values["value"]
        if limit < MAX_UNITS:
            return Rate.rate > limit, "above the largest amount"
    return None


def _prepare(session: Session, revision: RateRevision, flt: Mapping[str, Any],
             change: Mapping[str, Any]
             ) -> tuple[list[ColumnElement[bool]], str, dict[str, ColumnElement[Any]], int]:
    errors: dict[str, list[str]] = {}
    conditions: list[ColumnElement[bool]] = []
    kind, values = "", dict[str, Any]()
    if not isinstance(flt, Mapping):
        errors["filter"] = ["must be an object"]
    else:
        try:
            conditions = _filter_conditions(revision.id, flt)
        except ValidationFailed as exc:
            errors |= exc.errors
    if not isinstance(change, Mapping):
        errors["change"] = ["must be an object"]
    else:
        try:
            kind, values = _parse_change(change)
        except ValidationFailed as exc:
            errors |= exc.errors
    if errors:
        raise ValidationFailed(errors)
    bad = _out_of_range(kind, values)
    # One scan: how many rows the filter selects, and how many would leave 0..Int64.
    outside = (func.coalesce(func.sum(case((bad[0], 1), else_=0)), 0) if bad is not None
               else literal(0, Integer))
    selected, refused = session.execute(select(func.count(), outside).select_from(Rate)
                                        .where(*conditions)).one()
    if bad is not None and refused:
        raise ValidationFailed.one("change.value", f"would take {refused} selected "
                                   f"rate{'s' if refused != 1 else ''} {bad[1]}")
    return conditions, kind, _new_values(kind, values), int(selected or 0)


def preview_transform(session: Session, actor: Actor, card: Card, revision_id: int,
                      flt: Mapping[str, Any], change: Mapping[str, Any]
                      ) -> dict[str, Any]:
    """How many rows the filter selects and the first 20 of them before and after
    the change (units), without changing anything."""
    revision = draft_revision(session, actor, card, revision_id)
    conditions, _kind_name, new, count = _prepare(session, revision, flt, change)
    columns = [getattr(Rate, c) for c in ROW_COLUMNS]
    rows = session.execute(select(*columns, *(e.label(f"new_{k}") for k, e in new.items()))
                           .where(*conditions).order_by(Rate.prefix)
                           .limit(SAMPLE_ROWS)).mappings().all()
    sample = []
    for row in rows:
        before = {c: row[c] for c in ROW_COLUMNS}
        after = before | {k: row[f"new_{k}"] for k in new}
        sample.append({"prefix": row["prefix"], "before": before, "after": after})
    return {"count": int(count), "sample": sample}


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-safe copy for the audit log (decimals as their text)."""
    return {k: (_text(v) if isinstance(v, Decimal | float) else v) for k, v in values.items()}


def apply_transform(session: Session, actor: Actor, card: Card, revision_id: int,
                    flt: Mapping[str, Any], change: Mapping[str, Any]) -> int:
    """Change every row the filter selects in one UPDATE; answers how many."""
    revision = draft_revision(session, actor, card, revision_id)
    conditions, kind, new, _count = _prepare(session, revision, flt, change)
    result = session.execute(update(Rate).where(*conditions).values(**new),
                             execution_options={"synchronize_session": False})
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    session.flush()
    audit.record(session, actor, "update", "rate_revision", revision.id,
                 f"{count} rates of draft revision {revision.number} of {_kind(card)} "
                 f"{card.name} transformed ({kind})",
                 after={"filter": _plain(flt), "change": _plain(change), "rows": count})
    return count
