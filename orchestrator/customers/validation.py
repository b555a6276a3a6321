"""Parsing and checking of customer input: every bad field is reported at once.

Values may arrive as Python objects (API JSON) or as strings (forms, CSV, CLI); each
parser accepts both and returns the stored type, or raises ``BadValue`` with a message
meant for the user.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any
from urllib.parse import urlsplit

import phonenumbers

from orchestrator.codes import COUNTRIES, CURRENCIES
from orchestrator.db.types import STATUSES
from orchestrator.errors import ValidationFailed
from orchestrator.header_policy import PAI_MODES, parse_pass_headers

Parser = Callable[[Any], Any]

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
                    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                   r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"0", "false", "no", "n", "off", ""}
MAX_COUNT = 1_000_000  # channels / cps ceiling: far above any real switch
MAX_MONEY = Decimal(10) ** 14  # Money is NUMERIC(20, 6)


class BadValue(ValueError):
    """One field's value is unacceptable; the message says why."""


class Errors:
    """Collects messages per field; raises them together as ValidationFailed."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def check(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


def text(max_len: int, *, required: bool = False) -> Parser:
    def parse(value: Any) -> str:
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise BadValue("must be text")
        value = value.strip()
        if required and not value:
            raise BadValue("is required")
        if len(value) > max_len:
            raise BadValue(f"must be at most {max_len} characters (got {len(value)})")
        if any(ord(ch) < 32 for ch in value):
            raise BadValue("must not contain control characters")
        return str(value)
    return parse


def lines(max_len: int) -> Parser:
    """Several lines (address): a list of strings or one string with newlines."""
    def parse(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            items = value.splitlines()
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            items = value
        else:
            raise BadValue("must be text or a list of lines")
        joined = "\n".join(s.strip() for s in items if s.strip())
        if len(joined) > max_len:
            raise BadValue(f"must be at most {max_len} characters")
        if any(ord(ch) < 32 and ch != "\n" for ch in joined):
            raise BadValue("must not contain control characters")
        return joined
    return parse


def decimal(places: int, low: Decimal | None = None, high: Decimal | None = None) -> Parser:
    def parse(value: Any) -> Decimal:
        if isinstance(value, bool) or value is None:
            raise BadValue("must be a decimal number")
        if isinstance(value, float):
            if not math.isfinite(value):
                raise BadValue("must be a finite number")
            value = repr(value)
        try:
            number = Decimal(value.strip() if isinstance(value, str) else value)
        except (InvalidOperation, TypeError, ValueError):
            raise BadValue("must be a decimal number, e.g. 12.50") from None
        if not number.is_finite():
            raise BadValue("must be a finite number")
        lo, hi = (low if low is not None else -MAX_MONEY), (high if high is not None else MAX_MONEY)
        if not lo <= number <= hi:
            raise BadValue(f"must be between {lo} and {hi}")
        if number != number.quantize(Decimal(1).scaleb(-places)):
            raise BadValue(f"must have at most {places} decimal places")
        return number
    return parse


def optional_decimal(places: int) -> Parser:
    """A decimal, or None for an empty value (``None`` or blank text): no value."""
    parse_decimal = decimal(places)

    def parse(value: Any) -> Decimal | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        number: Decimal = parse_decimal(value)
        return number
    return parse


def integer(low: int = 0, high: int = MAX_COUNT) -> Parser:
    def parse(value: Any) -> int:
        if isinstance(value, bool):
            raise BadValue("must be a whole number")
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,12}\s*", value):
            value = int(value)
        if not isinstance(value, int):
            raise BadValue("must be a whole number")
        if not low <= value <= high:
            raise BadValue(f"must be between {low} and {high}")
        return value
    return parse


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise BadValue("must be true or false")


def choice(values: Iterable[str]) -> Parser:
    allowed = tuple(values)

    def parse(value: Any) -> str:
        if isinstance(value, str) and value.strip() in allowed:
            return value.strip()
        raise BadValue(f"must be one of: {', '.join(allowed)}")
    return parse


def email(value: Any) -> str:
    value = text(254)(value)
    if value and not _EMAIL.match(value):
        raise BadValue("must be an email address like name@example.com")
    return str(value)


MOBILE_EXAMPLE = "+447400123456"


def mobile(value: Any) -> str:
    """A mobile number in E.164 (``+`` country code and number; spaces, dashes, dots and
    brackets are ignored), valid by the ``phonenumbers`` numbering plans; stored as
    E.164, e.g. ``+44 7400 123-456`` -> ``+447400123456``."""
    value = text(32)(value)
    compact = re.sub(r"[\s().-]", "", value)
    if not compact:
        return ""
    if not E164.match(compact):
        raise BadValue("must be an E.164 number: + then country code and number, "
                       f"7 to 15 digits, e.g. {MOBILE_EXAMPLE}")
    try:
        number = phonenumbers.parse(compact, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise BadValue(f"{value} is not a valid phone number: check the country code and "
                       f"the number of digits, e.g. {MOBILE_EXAMPLE}")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def country(value: Any) -> str:
    code = str(text(100)(value)).upper()
    if code and code not in COUNTRIES:
        raise BadValue("must be an ISO 3166-1 alpha-2 country code, e.g. GB, US, DE")
    return code


def currency(value: Any) -> str:
    code = str(text(100, required=True)(value)).upper()
    if code not in CURRENCIES:
        raise BadValue("must be an ISO 4217 currency code, e.g. USD, EUR, GBP")
    return code


def url(value: Any) -> str:
    value = text(255)(value)
    if not value:
        return ""
    parts = urlsplit(value)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not _HOST.match(host) or " " in value:
        raise BadValue("must be a web address starting with http:// or https://, "
                       "e.g. https://example.com")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise BadValue("has an invalid port") from None
    return str(value)


def network(value: Any) -> IPv4Network | IPv6Network:
    """An IP address or CIDR network; host bits set is an error, not silently dropped."""
    if not isinstance(value, str) or not value.strip():
        raise BadValue("must be an IP address or CIDR network, e.g. 192.0.2.7 or 2001:db8::/32")
    raw = value.strip()
    try:
        net = ip_network(raw, strict=False)
    except ValueError:
        raise BadValue(f"{raw!r} is not an IP address or CIDR network, "
                       "e.g. 192.0.2.7, 192.0.2.0/24, 2001:db8::/32") from None
    try:
        ip_network(raw, strict=True)
    except ValueError:
        raise BadValue(f"{raw!r} has host bits set; did you mean {net}?") from None
    if net.prefixlen == 0:
        raise BadValue("a /0 network would authorise every address; give a real network")
    return net


def pass_headers(value: Any) -> str:
    """A header policy list (orchestrator/header_policy.py), as its canonical text."""
    try:
        return parse_pass_headers(value)
    except ValueError as exc:
        raise BadValue(str(exc)) from None


def clean(data: Mapping[str, Any], spec: Mapping[str, Parser], errors: Errors,
          *, required: Iterable[str] = ()) -> dict[str, Any]:
    """Parse the fields of ``data`` named in ``spec``; unknown fields are errors too."""
    out: dict[str, Any] = {}
    if not isinstance(data, Mapping):
        errors.add("body", "must be an object of field: value")
        return out
    for field in data:
        if field not in spec:
            errors.add(str(field), "unknown field")
    for field in required:
        if field not in data:
            errors.add(field, "is required")
    for field, parser in spec.items():
        if field in data:
            try:
                out[field] = parser(data[field])
            except BadValue as exc:
                errors.add(field, str(exc))
    return out


CUSTOMER_SPEC: dict[str, Parser] = {
    "name": text(100, required=True),
    "status": choice(STATUSES),
    "currency": currency,
    "tax_percent": decimal(4, Decimal(0), Decimal(100)),
    "debit_limit": decimal(6),
    "channels": integer(),
    "cps": integer(),
    "paypal_email": email,
    "website": url,
    "portal_access": boolean,
    "address_lines": lines(1000),
    "city": text(100),
    "postcode": text(20),
    "country": country,
    "email": email,
    "mobile": mobile,
    "email_verified": boolean,
    "mobile_verified": boolean,
    "verification_required": boolean,
    "pass_headers": pass_headers,
    "pai": choice(PAI_MODES),
    "low_balance_threshold": optional_decimal(6),
}
CUSTOMER_FIELDS = tuple(CUSTOMER_SPEC)


def clean_customer(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """The parsed fields of a customer create (all required present) or partial update."""
    errors = Errors()
    out = clean(data, CUSTOMER_SPEC, errors, required=() if partial else ("name", "currency"))
    errors.check()
    return out
