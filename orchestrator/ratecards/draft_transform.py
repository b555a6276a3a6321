"""Filtered transformation of a draft revision (PRODUCT.md: select rows by a filter,
apply one change to all of them, with a preview).

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

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    String,
    case,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.errors import ValidationFailed
from orchestrator.listing import like_pattern
from orchestrator.ratecards.draft_edits import (
    MAX_NAME,
    draft_revision,
    money_units,
    seconds_value,
    text_value,
)
from orchestrator.ratecards.models import RATE_STATUSES, Rate, RateRevision
from orchestrator.ratecards.money import (
    MAX_UNITS,
    SCALE,
    MoneyFormatError,
    round_units,
)
from orchestrator.ratecards.revisions import ROW_COLUMNS, Card, _kind
from orchestrator.ratecards.rules import anchored_pattern, match_error

SAMPLE_ROWS = 20
FILTER_FIELDS = ("prefix", "name", "rate_min", "rate_max", "status")
CHANGE_TYPES = ("set_rate", "add_rate", "multiply_rate", "set_billing", "set_status")
MAX_FACTOR = Decimal(1_000_000)


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
        if text_value(flt.get(key)) == "":
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
        if text_value(change.get("value")) == "":
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
                out[key] = seconds_value(change[key])
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
    return {k: (text_value(v) if isinstance(v, Decimal | float) else v) for k, v in values.items()}


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
