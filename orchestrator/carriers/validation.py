"""Field checks that collect every problem before anything changes (PRODUCT.md §5).

``Fields`` walks the input values of one object; each ``text``/``integer``/... call
normalises one value or notes a message under that field's name. ``done()`` raises
ValidationFailed with every bad field at once.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from decimal import Decimal, InvalidOperation
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any
from urllib.parse import urlsplit

from orchestrator.errors import ValidationFailed

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"0", "false", "no", "n", "off", ""}


def hostname_error(host: str) -> str | None:
    """Why ``host`` is not an RFC 1123 DNS name (None when it is one)."""
    name = host[:-1] if host.endswith(".") else host
    if not name or len(name) > 253:
        return "must be a DNS name of 1 to 253 characters"
    labels = name.split(".")
    if any(label == "" for label in labels):
        return "must not contain empty labels (two dots in a row)"
    bad = next((label for label in labels if not _LABEL.match(label)), None)
    if bad is not None:
        return (f"label {bad[:70]!r} is not valid: letters, digits and hyphens, at most 63, "
                "not starting or ending with a hyphen")
    if all(label.isdigit() for label in labels):
        return "is not a valid IPv4 address"
    if labels[-1].isdigit():
        return "is neither a valid IP address nor a DNS name (all-numeric last label)"
    return None


def host_error(host: str) -> str | None:
    """Why ``host`` is not an IPv4/IPv6 address or DNS name; None when it is fine."""
    if "://" in host or host.lower().startswith(("sip:", "sips:")):
        return "give the host only, without a scheme such as http:// or sip:"
    if "/" in host:
        return "give the host only, without a path or transport"
    if any(c.isspace() for c in host):
        return "must not contain spaces"
    try:
        address = ip_address(host)
    except ValueError:
        if ":" in host:
            if host.count(":") == 1 and host.rsplit(":", 1)[1].isdigit():
                return "give the port in the port field, not in the host"
            return "is not a valid IPv6 address"
        return hostname_error(host)
    if isinstance(address, IPv6Address) and address.scope_id:
        return "must not carry an IPv6 zone (%interface)"
    if address.is_unspecified or address.is_multicast or (
            isinstance(address, IPv4Address) and address == IPv4Address("255.255.255.255")):
        return "must be a unicast address"
    return None


def normalise_host(host: str) -> str:
    """Lower-case name or canonical address text; drops brackets around IPv6."""
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ip_address(host))
    except ValueError:
        return host.lower().rstrip(".") if host not in (".", "") else host


def email_error(value: str) -> str | None:
    local, at, domain = value.rpartition("@")
    if not at or not local or not _EMAIL_LOCAL.match(local) or local.startswith(".") \
            or local.endswith(".") or ".." in local:
        return "is not a valid email address (name@example.com)"
    if "." not in domain or hostname_error(domain):
        return "is not a valid email address: the domain after @ is not valid"
    return None


def url_error(value: str) -> str | None:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL"
    host = parts.hostname or ""
    if not host or host_error(host):
        return "is not a valid URL: the host name is not valid"
    if any(c.isspace() for c in value):
        return "must not contain spaces"
    return None


class Fields:
    """Collects normalised values and error messages for one object's input."""

    def __init__(self, values: Mapping[str, Any], prefix: str = "") -> None:
        self.values = values
        self.prefix = prefix
        self.clean: dict[str, Any] = {}
        self.errors: dict[str, list[str]] = {}

    def error(self, field: str, message: str) -> None:
        self.errors.setdefault(self.prefix + field, []).append(message)

    def given(self, field: str) -> bool:
        return self.values.get(field) is not None

    def text(self, field: str, max_len: int, *, required: bool = False,
             choices: Collection[str] | None = None, upper: bool = False,
             lower: bool = False) -> None:
        raw = self.values.get(field)
        if raw is None:
            return
        if not isinstance(raw, str):
            self.error(field, "must be text")
            return
        value = raw.strip()
        value = value.upper() if upper else value.lower() if lower else value
        if required and not value:
            self.error(field, "is required")
        elif len(value) > max_len:
            self.error(field, f"must be at most {max_len} characters")
        elif choices is not None and value not in choices:
            shown = ", ".join(sorted(choices)) if len(choices) <= 12 else "see the docs"
            self.error(field, f"{value[:40]!r} is not one of: {shown}")
        else:
            self.clean[field] = value

    def integer(self, field: str, low: int, high: int) -> None:
        raw = self.values.get(field)
        if raw is None:
            return
        value: int | None = None
        if isinstance(raw, int) and not isinstance(raw, bool):
            value = raw
        elif isinstance(raw, str) and re.fullmatch(r"\s*[+-]?\d{1,12}\s*", raw):
            value = int(raw)
        if value is None:
            self.error(field, "must be a whole number")
        elif not low <= value <= high:
            self.error(field, f"must be between {low} and {high}")
        else:
            self.clean[field] = value

    def boolean(self, field: str) -> None:
        raw = self.values.get(field)
        if raw is None:
            return
        if isinstance(raw, bool):
            self.clean[field] = raw
        elif isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            self.clean[field] = raw.strip().lower() in _TRUE
        else:
            self.error(field, "must be true or false")

    def money(self, field: str, *, allow_zero: bool, allow_negative: bool) -> None:
        """Decimal with at most 6 places, below 10^14 in size (the Money column)."""
        raw = self.values.get(field)
        if raw is None:
            return
        try:
            if isinstance(raw, bool) or not isinstance(raw, int | str | Decimal | float):
                raise InvalidOperation
            value = Decimal(str(raw).strip())
            if not value.is_finite():
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            self.error(field, "must be a decimal number such as 100.50")
            return
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -6 and value != value.quantize(
                Decimal("0.000001")):
            self.error(field, "must have at most 6 decimal places")
        elif abs(value) >= Decimal(10) ** 14:
            self.error(field, "is too large")
        elif value == 0 and not allow_zero:
            self.error(field, "must not be zero")
        elif value < 0 and not allow_negative:
            self.error(field, "must not be negative")
        else:
            self.clean[field] = value

    def check(self, field: str, check: Any) -> None:
        """Apply ``check(value) -> message | None`` to an already cleaned non-empty text."""
        value = self.clean.get(field)
        if value:
            message = check(value)
            if message:
                del self.clean[field]
                self.error(field, message)

    def done(self) -> dict[str, Any]:
        if self.errors:
            raise ValidationFailed(self.errors)
        return self.clean
