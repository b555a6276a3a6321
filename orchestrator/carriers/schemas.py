"""Input of the carrier service: typed dataclasses and the rules that clean them.

Create inputs carry defaults; update inputs have every field ``None`` = "keep as is".
``from_mapping`` builds either from a dict (API JSON, web form, CSV row): unknown keys
are refused by name; values may be text (``"30"``, ``"yes"``) and are converted by the
rules. A text field set to ``""`` is cleared. ``portal_password``: ``None`` keeps the
stored one, ``""`` clears it, anything else replaces it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, fields
from decimal import Decimal
from typing import Any, Self, cast

from orchestrator.carriers.validation import (
    Fields,
    email_error,
    host_error,
    normalise_host,
    url_error,
)
from orchestrator.codes import COUNTRIES, CURRENCIES
from orchestrator.db.types import PAYMENT_STATUSES, STATUSES
from orchestrator.errors import ValidationFailed
from orchestrator.header_policy import DEFAULT_PASS, parse_pass_headers

TRANSPORTS = ("udp", "tcp")
MAX_CHANNELS = 1_000_000
MAX_CPS = 100_000
TIMEOUT_RANGE = (1, 300)
WEIGHT_RANGE = (1, 100)


class _Input:
    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Self:
        spec = fields(cls)  # type: ignore[arg-type]
        unknown = sorted(set(data) - {f.name for f in spec})
        if unknown:
            raise ValidationFailed({key: ["unknown field"] for key in unknown})
        # A missing required field stays None; the clean_* rules report it with the rest.
        missing = {f.name: None for f in spec if f.default is MISSING and f.name not in data}
        return cls(**missing, **data)

    @classmethod
    def of(cls, data: Self | Mapping[str, Any]) -> Self:
        """``data`` itself, or built from a mapping (services accept either)."""
        return data if isinstance(data, cls) else cls.from_mapping(cast(Mapping[str, Any], data))

    def given(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}  # type: ignore[call-overload]


@dataclass
class CarrierCreate(_Input):
    name: str
    currency: str
    status: str = "active"
    channels: int = 0
    cps: int = 0
    paypal_email: str = ""
    website: str = ""
    portal_url: str = ""
    portal_username: str = ""
    portal_password: str = ""
    portal_access: bool = False
    address_lines: str = ""
    city: str = ""
    postcode: str = ""
    country: str = ""
    pre_ring_timeout: int = 30
    post_ring_timeout: int = 30
    pass_headers: str | list[str] = DEFAULT_PASS
    trust_pai: bool = True


@dataclass
class CarrierUpdate(_Input):
    name: str | None = None
    currency: str | None = None  # accepted only when unchanged: fixed after creation
    status: str | None = None
    channels: int | None = None
    cps: int | None = None
    paypal_email: str | None = None
    website: str | None = None
    portal_url: str | None = None
    portal_username: str | None = None
    portal_password: str | None = None
    portal_access: bool | None = None
    address_lines: str | None = None
    city: str | None = None
    postcode: str | None = None
    country: str | None = None
    pre_ring_timeout: int | None = None
    post_ring_timeout: int | None = None
    pass_headers: str | list[str] | None = None
    trust_pai: bool | None = None


@dataclass
class GatewayCreate(_Input):
    host: str
    port: int = 5060
    transport: str = "udp"
    weight: int = 1
    enabled: bool = True


@dataclass
class GatewayUpdate(_Input):
    host: str | None = None
    port: int | None = None
    transport: str | None = None
    weight: int | None = None
    enabled: bool | None = None


@dataclass
class PaymentCreate(_Input):
    amount: Decimal | str
    fee: Decimal | str = Decimal(0)
    description: str = ""
    status: str = "pending"


def _with_scheme(value: str) -> str:
    return value if "://" in value or not value else f"https://{value}"


def _require(f: Fields, *names: str) -> None:
    for name in names:
        if f.values.get(name) is None:
            f.error(name, "is required")


def clean_carrier(values: Mapping[str, Any], prefix: str = "", *,
                  create: bool = False) -> dict[str, Any]:
    """Normalised values of the given (non-None) carrier fields, or ValidationFailed."""
    f = Fields(values, prefix)
    if create:
        _require(f, "name", "currency")
    f.text("name", 100, required=True)
    f.text("status", 20, choices=STATUSES, lower=True)
    f.text("currency", 3, required=True, upper=True)
    f.check("currency", lambda v: None if v in CURRENCIES
            else f"{v!r} is not an ISO 4217 currency code (e.g. USD, EUR)")
    f.integer("channels", 0, MAX_CHANNELS)
    f.integer("cps", 0, MAX_CPS)
    f.text("paypal_email", 254)
    f.check("paypal_email", email_error)
    for field in ("website", "portal_url"):
        if isinstance(values.get(field), str):
            values = {**values, field: _with_scheme(values[field].strip())}
            f.values = values
        f.text(field, 255)
        f.check(field, url_error)
    f.text("portal_username", 100)
    portal_password = values.get("portal_password")
    if portal_password is not None:
        if not isinstance(portal_password, str):
            f.error("portal_password", "must be text")
        elif len(portal_password) > 255:
            f.error("portal_password", "must be at most 255 characters")
        else:
            f.clean["portal_password"] = portal_password  # kept exactly: spaces count
    f.boolean("portal_access")
    f.text("address_lines", 1000)
    f.text("city", 100)
    f.text("postcode", 20)
    f.text("country", 2, upper=True)
    f.check("country", lambda v: None if v in COUNTRIES
            else f"{v!r} is not an ISO 3166 alpha-2 country code (e.g. GB, US)")
    f.integer("pre_ring_timeout", *TIMEOUT_RANGE)
    f.integer("post_ring_timeout", *TIMEOUT_RANGE)
    if values.get("pass_headers") is not None:
        try:
            f.clean["pass_headers"] = parse_pass_headers(values["pass_headers"])
        except ValueError as exc:
            f.error("pass_headers", str(exc))
    f.boolean("trust_pai")
    return f.done()


def clean_gateway(values: Mapping[str, Any], prefix: str = "", *,
                  create: bool = False) -> dict[str, Any]:
    f = Fields(values, prefix)
    if create:
        _require(f, "host")
    raw_host = values.get("host")
    if isinstance(raw_host, str):
        host = raw_host.strip()
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        values = {**values, "host": host}
        f.values = values
    f.text("host", 255, required=True)
    f.check("host", host_error)
    if "host" in f.clean:
        f.clean["host"] = normalise_host(f.clean["host"])
    f.integer("port", 1, 65535)
    f.text("transport", 3, choices=TRANSPORTS, lower=True)
    f.integer("weight", *WEIGHT_RANGE)
    f.boolean("enabled")
    return f.done()


def clean_payment(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    f = Fields(values, prefix)
    _require(f, "amount")
    f.money("amount", allow_zero=False, allow_negative=True)
    f.money("fee", allow_zero=True, allow_negative=False)
    f.text("description", 255)
    f.text("status", 20, choices=PAYMENT_STATUSES, lower=True)
    return f.done()
