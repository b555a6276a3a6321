"""Explain's notes on the header policy (docs/header-policy.md): what the switch does
with the headers of the call. Explain sees no headers, so it says what would happen.

The switch (templates/kamailio/headers.cfg.j2) refuses, right after the customer step,
an INVITE without P-Asserted-Identity from a customer whose ``pai`` is ``require``
(``403 PAI Required``); it removes PAI from a customer whose ``pai`` is ``remove``;
optional headers pass only when both the customer's and the carrier's lists allow them;
with ``Privacy: id`` the PAI goes only to carriers with ``trust_pai``.
"""

from __future__ import annotations

from collections.abc import Iterable

from orchestrator.compile.snapshot import CustomerRow
from orchestrator.header_policy import DEFAULT_PASS, PAI_REQUIRED
from orchestrator.routing.explain_index import SnapshotIndex


def _list(text: str) -> str:
    return text if text else "none"


def customer_notes(customer: CustomerRow) -> list[str]:
    """The customer's PAI setting and header list."""
    notes = [f"headers: customer {customer.id} passes {_list(customer.pass_headers)}"
             + (" (default)" if customer.pass_headers == DEFAULT_PASS else "")
             + "; other X- headers are removed"]
    if customer.pai == "require":
        notes.append(f"P-Asserted-Identity required: an INVITE without it gets "
                     f"{PAI_REQUIRED} (explain does not see the call's headers)")
    elif customer.pai == "remove":
        notes.append("P-Asserted-Identity removed from this customer's requests")
    return notes


def carrier_notes(idx: SnapshotIndex, order: Iterable[int]) -> list[str]:
    """One note on the header lists and PAI trust of the carriers tried, in order."""
    parts = []
    for carrier_id in dict.fromkeys(idx.provider_cards[pc].carrier_id for pc in order):
        carrier = idx.carriers.get(carrier_id)
        if carrier is None:
            continue
        trust = "" if carrier.trust_pai else ", no PAI when the caller asks for privacy"
        parts.append(f"carrier {carrier_id} passes {_list(carrier.pass_headers)}{trust}")
    if not parts:
        return []
    return ["headers toward carriers (an optional header passes when both the customer "
            "and the carrier list it): " + "; ".join(parts)]
