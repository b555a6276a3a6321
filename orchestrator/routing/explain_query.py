"""Explain's input and vocabulary: the checked query, the verdicts and drop reasons
(exactly the switch's reason phrases, PRODUCT.md §2), money formatting."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from ipaddress import ip_address

from orchestrator.errors import ValidationFailed
from orchestrator.routing.explain_index import IPAddress

OK = "ok"
IP_NOT_AUTHORISED = "403 IP Not Authorised"
ACCOUNT_INACTIVE = "403 Account Inactive"
VERIFICATION_REQUIRED = "403 Verification Required"
NO_INGRESS_ROUTE = "404 No Ingress Route"
BLOCKED_BY_DIAL_STRING = "403 Blocked by Dial String"
NO_RATE = "404 No Rate"
DESTINATION_BLOCKED = "403 Destination Blocked"
NO_ROUTES = "503 No Routes Available"
INSUFFICIENT_BALANCE = "402 Insufficient Balance"

NOT_LOCKED = "not in the route's locked cards"
EXCLUDED = "excluded by the route"
LOSS = "costs more than the sell rate"
UNAVAILABLE = "carrier inactive or without an enabled gateway"

DEFAULT_PORT = 5060
DIALLED = re.compile(r"^\+?[0-9]{1,32}$")
MONEY_PLACES = 8


@dataclass(frozen=True)
class Query:
    """A checked explain request."""

    source: IPAddress
    port: int
    port_given: bool
    dialled: str  # digits, "+" removed
    username: str | None = None
    caller: str | None = None

    @classmethod
    def parse(cls, *, source_ip: str, dialled: str, source_port: int | None = None,
              username: str | None = None, caller: str | None = None) -> Query:
        errors: dict[str, list[str]] = {}
        try:
            source = ip_address(str(source_ip).strip())
        except ValueError:
            errors["source_ip"] = ["must be an IPv4 or IPv6 address, e.g. 192.0.2.7"]
        if source_port is not None and not 1 <= source_port <= 65535:
            errors["source_port"] = ["must be 1-65535"]
        digits = str(dialled).strip()
        if not DIALLED.match(digits):
            errors["dialled"] = ["must be 1-32 digits, optionally after one leading +"]
        if errors:
            raise ValidationFailed(errors)
        return cls(source, source_port or DEFAULT_PORT, source_port is not None,
                   digits.removeprefix("+"), (username or "").strip() or None,
                   (caller or "").strip() or None)


def money(units: int) -> str:
    """10^-8 units as a decimal string without trailing zeros ("0.0123")."""
    text = f"{Decimal(units).scaleb(-MONEY_PLACES):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _limits(what: str, channels: int, cps: int) -> str:
    parts = [f"{channels} channels" if channels else "",
             f"{cps} cps" if cps else ""]
    return f"{what}: {', '.join(p for p in parts if p) or 'unlimited'}"
