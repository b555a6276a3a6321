"""Exchange rates: units of a currency per one unit of the base currency.

The base currency (``settings.base_currency``, default USD) is 1 by definition and is
never stored. Converting an amount from currency A to B multiplies it by
``per_base(B) / per_base(A)``: ``factor`` gives that as exact integers.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.codes import CURRENCIES
from orchestrator.errors import Conflict, NotFound, ValidationFailed
from orchestrator.ratecards.models import (
    CustomerCard,
    CustomerCardParent,
    ExchangeRate,
    ProviderCard,
)

DEFAULT_BASE = "USD"
MAX_PLACES = 12
MAX_TEXT = 30
MAX_IMPORT_ROWS = 1000
MAX_ERRORS = 100


def currency_message(code: str) -> str | None:
    """Why ``code`` (already stripped and upper-cased) is not usable, or None."""
    if code not in CURRENCIES:
        return f"{code[:10]!r} is not an ISO 4217 currency code (e.g. USD, EUR)"
    return None


def parse_per_base(raw: object) -> tuple[str | None, str | None]:
    """(normalised decimal string, None) or (None, message)."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        return None, "must be a decimal number such as 0.92"
    try:
        value = Decimal(repr(raw) if isinstance(raw, float) else str(raw).strip())
    except InvalidOperation:
        return None, "must be a decimal number such as 0.92"
    if not value.is_finite():
        return None, "must be a decimal number such as 0.92"
    if value <= 0:
        return None, "must be greater than 0"
    if value >= Decimal(10) ** 15:
        return None, "is too large"
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_PLACES:
        return None, f"must have at most {MAX_PLACES} decimal places"
    text = format(value.normalize(), "f")
    if len(text) > MAX_TEXT:
        return None, "is too large"
    return text, None


def list_rates(session: Session, actor: Actor) -> list[ExchangeRate]:
    actor.require("read")
    return list(session.scalars(select(ExchangeRate).order_by(ExchangeRate.currency)))


def per_base(session: Session, currency: str, base: str) -> Fraction | None:
    """Units of ``currency`` per base unit, exact; None when no rate is stored."""
    if currency == base:
        return Fraction(1)
    row = session.get(ExchangeRate, currency)
    return Fraction(Decimal(row.per_base)) if row is not None else None


def convertible(session: Session, a: str, b: str, base: str) -> bool:
    return a == b or (per_base(session, a, base) is not None
                      and per_base(session, b, base) is not None)


def factor(session: Session, source: str, target: str, base: str) -> tuple[int, int]:
    """(numerator, denominator) with ``amount_target = amount_source * num / den``."""
    if source == target:
        return 1, 1
    source_rate, target_rate = per_base(session, source, base), per_base(session, target, base)
    if source_rate is None or target_rate is None:
        missing = source if source_rate is None else target
        raise ValidationFailed.one("currency", f"no exchange rate for {missing}: set it "
                                   f"under currencies (units per 1 {base})")
    ratio = target_rate / source_rate
    return ratio.numerator, ratio.denominator


def set_rate(session: Session, actor: Actor, currency: str, raw_per_base: object,
             base: str) -> ExchangeRate:
    """Create or replace the rate of one currency."""
    actor.require("write")
    code = currency.strip().upper()
    errors: dict[str, list[str]] = {}
    message = currency_message(code)
    if message is None and code == base:
        message = f"is the base currency: always 1 {base} per {base}"
    if message:
        errors["currency"] = [message]
    value, problem = parse_per_base(raw_per_base)
    if problem:
        errors["per_base"] = [problem]
    if errors:
        raise ValidationFailed(errors)
    assert value is not None
    row = session.get(ExchangeRate, code)
    before = None if row is None else {"currency": code, "per_base": row.per_base}
    if row is None:
        row = ExchangeRate(currency=code, per_base=value)
        session.add(row)
    else:
        row.per_base = value
    session.flush()
    audit.record(session, actor, "create" if before is None else "update", "exchange_rate",
                 None, f"exchange rate {code} set to {value} per {base}", before=before,
                 after={"currency": code, "per_base": value})
    return row


def users_of(session: Session, currency: str) -> list[str]:
    """Customer cards that convert from or to ``currency`` (a parent in another currency)."""
    stmt = (select(CustomerCard.name)
            .join(CustomerCardParent, CustomerCardParent.customer_card_id == CustomerCard.id)
            .join(ProviderCard, ProviderCard.id == CustomerCardParent.provider_card_id)
            .where(ProviderCard.currency != CustomerCard.currency)
            .where((ProviderCard.currency == currency) | (CustomerCard.currency == currency))
            .distinct().order_by(CustomerCard.name))
    return list(session.scalars(stmt))


def delete_rate(session: Session, actor: Actor, currency: str) -> None:
    """Remove a rate; refused while a customer card converts with it."""
    actor.require("write")
    code = currency.strip().upper()
    row = session.get(ExchangeRate, code)
    if row is None:
        raise NotFound("exchange rate", code[:10])
    users = users_of(session, code)
    if users:
        shown = ", ".join(repr(n) for n in users[:5]) + (" ..." if len(users) > 5 else "")
        raise Conflict("currency", f"customer card(s) {shown} convert with {code}")
    before = {"currency": code, "per_base": row.per_base}
    session.delete(row)
    session.flush()
    audit.record(session, actor, "delete", "exchange_rate", None,
                 f"exchange rate {code} removed", before=before)


def parse_csv(text: str, base: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Rows ``currency,per_base`` (a header row is optional) -> (rates, errors)."""
    rates: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    seen: dict[str, int] = {}
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if len(rows) > MAX_IMPORT_ROWS + 1:
        return {}, {"file": [f"has more than {MAX_IMPORT_ROWS} rows"]}
    for number, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if number == 1 and cells[0].lower() == "currency":
            continue
        if len(errors) >= MAX_ERRORS:
            break
        if len(cells) != 2:
            errors[f"row {number}"] = ["must have 2 columns: currency,per_base"]
            continue
        code = cells[0].upper()
        message = currency_message(code) or (
            f"is the base currency ({base}): always 1" if code == base else None)
        if message is None and code in seen:
            message = f"{code} is also on row {seen[code]}"
        if message:
            errors[f"row {number}, column currency"] = [message]
        seen.setdefault(code, number)
        value, problem = parse_per_base(cells[1])
        if problem:
            errors[f"row {number}, column per_base"] = [problem]
        if not message and value is not None:
            rates[code] = value
    if not rates and not errors:
        errors["file"] = ["contains no rates (expected lines currency,per_base)"]
    return rates, errors


def import_csv(session: Session, actor: Actor, data: bytes | str,
               base: str) -> list[ExchangeRate]:
    """Set every rate of the file, or none: any bad row refuses the whole file."""
    actor.require("write")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed.one("file", "must be UTF-8 text (CSV)") from None
    rates, errors = parse_csv(data, base)
    if errors:
        raise ValidationFailed(errors)
    return [set_rate(session, actor, code, value, base) for code, value in rates.items()]
