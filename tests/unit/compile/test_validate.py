"""validate_snapshot: every problem is refused with a message naming the thing."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from orchestrator.compile.snapshot import (
    AddressRow,
    CarrierRow,
    CustomerRow,
    DialRule,
    GatewayRow,
    GroupRow,
    IngressRow,
    MediaZone,
    ProviderCardRow,
    RouteRow,
    SipUserRow,
    Snapshot,
    TariffRef,
)
from orchestrator.compile.validate import validate_snapshot
from orchestrator.errors import ValidationFailed

HA1 = "0123456789abcdef0123456789abcdef"
ROUTE = RouteRow(id=12, customer_id=1, customer_card_id=5, tree="t40", tech_prefix="9",
                 has_dial_string=True, channels=0, cps=0, max_duration=0, sip_ping=0,
                 rtp_timeout=False, profit_assurance=False, cards_mode="", cards=(),
                 strategy="lcr", media_set=0, strict=False, name="uk")
GOOD = Snapshot(
    addresses=(AddressRow("192.0.2.7/32", 0, 1),),
    groups=(GroupRow(1, (1,)),),
    sip_users=(SipUserRow("alice", HA1, 1, 1, 0, 0, ("10.0.0.0/8",)),),
    customers=(CustomerRow(1, "ok", 0, 0, True, "Acme"),),
    ingress=(IngressRow(1, "9", 12),),
    routes=(ROUTE,),
    dial_rules=(DialRule(12, 1, "^44"),),
    carriers=(CarrierRow(3, 0, 0, 30000, 30000, "Telco"),),
    gateways=(GatewayRow(8, 3, "sip:198.51.100.1:5060", 1),),
    provider_cards=(ProviderCardRow(6, 3, ""),),
    tariffs=(TariffRef(5, 40, "t40", "USD"),),
    media_zones=(MediaZone("auto", 0),),
    realm="switch.local")


def errors_of(**changes: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as error:
        validate_snapshot(replace(GOOD, **changes))
    return error.value.errors


def test_a_good_snapshot_passes() -> None:
    validate_snapshot(GOOD)


@pytest.mark.parametrize(("pattern", "message"), [
    ("^4(4", "is not a valid regular expression"),
    ("", "is empty"),
    ("(?u)^44", "PCRE does not have"),
    (r"^44\Z", "PCRE does not have"),
])
def test_bad_dial_patterns_name_route_and_line(pattern: str, message: str) -> None:
    errors = errors_of(dial_rules=(DialRule(12, 1, "^44"), DialRule(12, 2, pattern)))
    assert list(errors) == ["route 12 (uk), dial string line 2"]
    assert message in errors["route 12 (uk), dial string line 2"][0]


def test_references_must_exist() -> None:
    errors = errors_of(routes=(replace(ROUTE, customer_id=99, tree="t41"),))
    assert any("customer 99 does not exist" in m for m in errors["route 12 (uk)"])
    assert any("'t41' is not among the tariffs" in m for m in errors["route 12 (uk)"])
    errors = errors_of(groups=(GroupRow(1, (1,)), GroupRow(2, (2,))),
                       customers=(*GOOD.customers, CustomerRow(2, "ok", 0, 0, True, "B")),
                       ingress=(IngressRow(2, "9", 12),))
    assert errors["ingress group 2 tech prefix 9"] == [
        "the customer of route 12 is not in the group"]
    errors = errors_of(tariffs=(TariffRef(6, 40, "t40", "USD"),))
    assert errors["route 12 (uk)"] == [
        "tariff tree 't40' belongs to customer card 6, not 5"]
    errors = errors_of(ingress=(IngressRow(1, "9", 77),))
    assert errors["ingress group 1 tech prefix 9"] == ["route 77 is not compiled"]
    errors = errors_of(sip_users=(SipUserRow("alice", HA1, 2, 4, 0, 0),))
    assert errors["SIP user alice"] == ["customer 2 does not exist",
                                        "route group 4 is not the group of its customer"]
    errors = errors_of(gateways=(GatewayRow(8, 4, "sip:198.51.100.1:5060", 1),))
    assert errors["gateway 8"] == ["carrier 4 is not compiled"]
    errors = errors_of(provider_cards=(ProviderCardRow(6, 4, ""),))
    assert errors["provider card 6"] == ["carrier 4 is not compiled"]
    errors = errors_of(dial_rules=(DialRule(13, 1, "^44"), DialRule(12, 1, "^44")))
    assert "route 13 is not compiled" in errors["route 13, dial string line 1"]


def test_group_ids_stay_within_range() -> None:
    errors = errors_of(groups=(GroupRow(1, (1,)), GroupRow(1_000_000, (1,))))
    assert errors["group 1000000"] == ["id must be within 1..999999"]
    errors = errors_of(addresses=(AddressRow("192.0.2.7/32", 0, 2),))
    assert errors["IP auth 192.0.2.7/32 port any"] == ["route group 2 does not exist"]


def test_duplicate_keys_are_refused() -> None:
    errors = errors_of(ingress=(IngressRow(1, "9", 12), IngressRow(1, "9", 12)))
    assert errors["ingress"] == ["route group and tech prefix (1, '9') appears 2 times"]
    user = GOOD.sip_users[0]
    errors = errors_of(sip_users=(user, user))
    assert errors["sip_users"] == ["SIP username alice appears 2 times"]


def test_usernames_trees_and_ha1_formats() -> None:
    errors = errors_of(sip_users=(SipUserRow("al:ice", "xyz", 1, 1, 0, 0),))
    assert errors["SIP user al:ice"] == [
        "username may only contain letters, digits and . _ @ + -",
        "password hash (HA1) must be 32 hex digits"]
    errors = errors_of(tariffs=(TariffRef(5, 40, "t 40", "USD"),),
                       routes=(replace(ROUTE, tree="t 40"),))
    assert errors["tariff of customer card 5"][0].startswith("tree name 't 40' may only")


def test_route_row_consistency() -> None:
    errors = errors_of(routes=(replace(ROUTE, media_set=3, strategy="cheapest",
                                       cards_mode="lock"),))
    messages = errors["route 12 (uk)"]
    assert "media set 3 is not a configured media zone" in messages
    assert any("strategy 'cheapest'" in m for m in messages)
    assert any("a mode needs cards" in m for m in messages)
    errors = errors_of(routes=(replace(ROUTE, has_dial_string=False),))
    assert errors["route 12 (uk)"] == ["has_dial_string does not match its dial rules"]
