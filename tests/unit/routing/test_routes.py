"""Ingress route service: defaults, every validation, uniqueness, delete guards, audit."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.audit.models import AuditEntry
from orchestrator.customers import service as customers
from orchestrator.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from orchestrator.ratecards import customer_cards, provider_cards
from orchestrator.routing import routes
from orchestrator.routing.models import IngressRoute
from tests.unit.routing.conftest import OPERATOR, VIEWER, World


def add(session: Session, world: World, **fields: Any) -> IngressRoute:
    return routes.create_route(session, OPERATOR, world.customer.id,
                               {"tariff_id": world.tariff.id} | fields)


def errors_of(session: Session, world: World, **fields: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as info:
        add(session, world, **fields)
    assert routes.list_routes(session, OPERATOR, world.customer.id) == []
    return info.value.errors


def test_create_with_defaults(session: Session, world: World) -> None:
    route = add(session, world)
    view = routes.to_dict(route)
    assert {k: view[k] for k in routes.FIELDS} == routes.DEFAULTS | {
        "tariff_id": world.tariff.id}
    assert view["customer_id"] == world.customer.id and view["created_at"]


def test_create_every_field_normalised(session: Session, world: World) -> None:
    route = add(session, world, name=" Premium ", tech_prefix="0077",
                dial_string="44\n\n  ^1(204|226)  \n", enabled="no", priority="5",
                channels=30, cps=10, max_duration=7200, sip_ping="both", rtp_timeout=True,
                profit_assurance=True, lock_cards=[world.cards[1].id, world.cards[1].id],
                strategy="random", rtp_proxy="Frankfurt-1", rtp_proxy_mode="strict")
    assert route.name == "Premium" and route.tech_prefix == "0077"
    assert route.dial_string == "44\n^1(204|226)"
    assert route.enabled is False and route.priority == 5
    assert (route.channels, route.cps, route.max_duration) == (30, 10, 7200)
    assert route.sip_ping == "both" and route.rtp_timeout and route.profit_assurance
    assert route.lock_cards == [world.cards[1].id] and route.exclude_cards == []
    assert route.strategy == "random" and route.rtp_proxy == "Frankfurt-1"
    assert route.rtp_proxy_mode == "strict"


def test_dial_string_as_list_of_lines(session: Session, world: World) -> None:
    route = add(session, world, dial_string=["44", "", "^33[1-5]"])
    assert route.dial_string.splitlines() == ["44", "^33[1-5]"]


@pytest.mark.parametrize(("field", "value"), [
    ("tariff_id", 0), ("tariff_id", "x"), ("tech_prefix", "12a"), ("tech_prefix", "1" * 21),
    ("tech_prefix", "+44"), ("enabled", "maybe"), ("priority", -1), ("priority", 10**7),
    ("priority", 1.5), ("channels", -1), ("cps", "many"), ("max_duration", -5),
    ("max_duration", 10**9), ("sip_ping", "always"), ("rtp_timeout", 2),
    ("profit_assurance", "sometimes"), ("lock_cards", "abc"), ("lock_cards", [0]),
    ("exclude_cards", {"a": 1}), ("strategy", "cheapest"), ("rtp_proxy", "bad zone!"),
    ("rtp_proxy", 5), ("rtp_proxy_mode", "lenient"), ("name", "x" * 101),
    ("dial_string", 44), ("colour", "red"),
])
def test_bad_value_names_the_field(session: Session, world: World, field: str,
                                   value: Any) -> None:
    assert list(errors_of(session, world, **{field: value})) == [field]


def test_tariff_is_required(session: Session, world: World) -> None:
    with pytest.raises(ValidationFailed) as info:
        routes.create_route(session, OPERATOR, world.customer.id, {"name": "x"})
    assert info.value.errors == {"tariff_id": ["is required"]}


def test_several_bad_fields_reported_at_once(session: Session, world: World) -> None:
    errors = errors_of(session, world, cps=-1, sip_ping="x", tech_prefix="a")
    assert sorted(errors) == ["cps", "sip_ping", "tech_prefix"]


def test_dial_string_error_names_the_line(session: Session, world: World) -> None:
    errors = errors_of(session, world, dial_string="44\n^33\n^1(204\n49")
    assert list(errors) == ["dial_string"]
    assert errors["dial_string"][0].startswith("line 3: '^1(204'")
    assert "regular expression" in errors["dial_string"][0]


def test_dial_string_line_counts_blank_lines(session: Session, world: World) -> None:
    errors = errors_of(session, world, dial_string=["44", "", "[", ""])
    assert errors["dial_string"][0].startswith("line 3:")


def test_dial_string_allows() -> None:
    assert routes.dial_string_allows("", "4420")
    assert routes.dial_string_allows("44\n^1(204|226)", "4420")
    assert routes.dial_string_allows("44\n^1(204|226)", "12045551234")
    assert not routes.dial_string_allows("44\n^1(204|226)", "12125551234")
    assert not routes.dial_string_allows("44", "3344")


def test_lock_and_exclude_together_refused_on_both_fields(session: Session,
                                                          world: World) -> None:
    errors = errors_of(session, world, lock_cards=[world.cards[0].id],
                       exclude_cards=[world.cards[1].id])
    assert sorted(errors) == ["exclude_cards", "lock_cards"]
    assert "both" in errors["lock_cards"][0]


def test_unknown_provider_cards_are_named(session: Session, world: World) -> None:
    errors = errors_of(session, world, exclude_cards=[world.cards[0].id, 9999, 8888])
    assert errors == {"exclude_cards": ["no provider card with id 9999, 8888"]}


def test_tariff_must_exist(session: Session, world: World) -> None:
    errors = errors_of(session, world, tariff_id=424242)
    assert errors == {"tariff_id": ["no customer rate card with id 424242"]}


def test_tariff_currency_must_be_the_customers(session: Session, world: World) -> None:
    errors = errors_of(session, world, tariff_id=world.eur_tariff.id)
    assert list(errors) == ["tariff_id"]
    message = errors["tariff_id"][0]
    assert "'Retail EUR'" in message and "EUR" in message and "USD" in message


def test_rtp_timeout_needs_proxied_media(session: Session, world: World) -> None:
    errors = errors_of(session, world, rtp_timeout=True, rtp_proxy="direct")
    assert list(errors) == ["rtp_timeout"]
    assert add(session, world, rtp_timeout=False, rtp_proxy="DIRECT").rtp_proxy == "direct"


def test_same_tech_prefix_and_priority_conflict(session: Session, world: World) -> None:
    first = add(session, world, tech_prefix="77", priority=1, name="main")
    with pytest.raises(Conflict) as info:
        add(session, world, tech_prefix="77", priority=1)
    assert info.value.field == "priority" and f"route {first.id} (main)" in info.value.message
    add(session, world, tech_prefix="77", priority=2)
    add(session, world, tech_prefix="78", priority=1)
    add(session, world, tech_prefix="77", priority=1, enabled=False)  # disabled: allowed
    other = customers.create_customer(session, OPERATOR, {"name": "Other",
                                                          "currency": "USD"})
    routes.create_route(session, OPERATOR, other.id, {"tariff_id": world.tariff.id,
                                                      "tech_prefix": "77", "priority": 1})
    assert len(routes.list_routes(session, OPERATOR, world.customer.id)) == 4


def test_no_tech_prefix_routes_conflict_too(session: Session, world: World) -> None:
    add(session, world)
    with pytest.raises(Conflict):
        add(session, world, priority=0)


def test_enabling_a_clashing_route_is_a_conflict(session: Session, world: World) -> None:
    add(session, world, tech_prefix="9", priority=3)
    spare = add(session, world, tech_prefix="9", priority=3, enabled=False)
    with pytest.raises(Conflict):
        routes.update_route(session, OPERATOR, world.customer.id, spare.id,
                            {"enabled": True})
    assert session.get(IngressRoute, spare.id).enabled is False  # type: ignore[union-attr]
    moved = routes.update_route(session, OPERATOR, world.customer.id, spare.id,
                                {"enabled": True, "priority": 4})
    assert moved.enabled and moved.priority == 4


def test_update_changes_given_fields_and_audits(session: Session, world: World) -> None:
    route = add(session, world, name="r", cps=5, strategy="lcr")
    routes.update_route(session, OPERATOR, world.customer.id, route.id,
                        {"cps": 7, "name": None, "strategy": None,
                         "exclude_cards": [world.cards[2].id]})
    assert route.cps == 7 and route.name == "r" and route.strategy is None
    assert route.exclude_cards == [world.cards[2].id]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "update")).one()
    assert entry.object_type == "ingress_route" and entry.object_id == route.id
    assert entry.before == {"cps": 5, "strategy": "lcr", "exclude_cards": []}
    assert entry.after == {"cps": 7, "strategy": None, "exclude_cards": [world.cards[2].id]}
    assert entry.username == "olivia" and "Acme" in entry.summary


def test_update_validates_against_merged_values(session: Session, world: World) -> None:
    route = add(session, world, lock_cards=[world.cards[0].id])
    with pytest.raises(ValidationFailed) as info:
        routes.update_route(session, OPERATOR, world.customer.id, route.id,
                            {"exclude_cards": [world.cards[1].id]})
    assert sorted(info.value.errors) == ["exclude_cards", "lock_cards"]
    with pytest.raises(ValidationFailed) as info:
        routes.update_route(session, OPERATOR, world.customer.id, route.id,
                            {"dial_string": "1\n2\n(("})
    assert info.value.errors["dial_string"][0].startswith("line 3:")
    assert route.exclude_cards == [] and route.dial_string == ""


def test_create_and_delete_are_audited(session: Session, world: World) -> None:
    route = add(session, world, tech_prefix="12")
    route_id = route.id
    routes.delete_route(session, OPERATOR, world.customer.id, route_id)
    assert session.get(IngressRoute, route_id) is None
    entries = session.scalars(select(AuditEntry).where(
        AuditEntry.object_type == "ingress_route").order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == ["create", "delete"]
    assert entries[0].after is not None and entries[0].after["tech_prefix"] == "12"
    assert entries[1].before is not None and entries[1].before["id"] == route_id
    assert entries[1].after is None


def test_not_found_and_other_customers_route(session: Session, world: World) -> None:
    route = add(session, world)
    other = customers.create_customer(session, OPERATOR, {"name": "Other",
                                                          "currency": "USD"})
    for customer_id, route_id in ((other.id, route.id), (world.customer.id, 999),
                                  (world.customer.id, 0)):
        with pytest.raises(NotFound):
            routes.get_route(session, OPERATOR, customer_id, route_id)
    with pytest.raises(NotFound):
        routes.delete_route(session, OPERATOR, other.id, route.id)
    with pytest.raises(NotFound):
        routes.list_routes(session, OPERATOR, 31337)
    with pytest.raises(NotFound):
        routes.create_route(session, OPERATOR, 31337, {"tariff_id": world.tariff.id})
    assert routes.find_route(session, VIEWER, route.id) is route


def test_list_orders_by_priority_then_id(session: Session, world: World) -> None:
    late = add(session, world, priority=9)
    early = add(session, world, priority=1, tech_prefix="5")
    tie = add(session, world, priority=1, tech_prefix="6")
    listed = routes.list_routes(session, VIEWER, world.customer.id)
    assert [r.id for r in listed] == [early.id, tie.id, late.id]


def test_viewer_may_read_but_not_write(session: Session, world: World) -> None:
    route = add(session, world)
    assert routes.get_route(session, VIEWER, world.customer.id, route.id) is route
    with pytest.raises(PermissionDenied):
        routes.create_route(session, VIEWER, world.customer.id, {"tariff_id": 1})
    with pytest.raises(PermissionDenied):
        routes.update_route(session, VIEWER, world.customer.id, route.id, {"cps": 1})
    with pytest.raises(PermissionDenied):
        routes.delete_route(session, VIEWER, world.customer.id, route.id)


def test_customer_card_used_as_tariff_cannot_be_deleted(session: Session,
                                                        world: World) -> None:
    route = add(session, world)
    with pytest.raises(Conflict) as info:
        customer_cards.delete_customer_card(session, OPERATOR, world.tariff.id)
    assert f"ingress route(s) {route.id} of customer 'Acme'" in info.value.message
    routes.delete_route(session, OPERATOR, world.customer.id, route.id)
    customer_cards.delete_customer_card(session, OPERATOR, world.tariff.id)
    assert customer_cards.DELETE_GUARDS.count(routes.customer_card_guard) == 1


@pytest.mark.parametrize("field", ["lock_cards", "exclude_cards"])
def test_provider_card_in_a_list_cannot_be_deleted(session: Session, world: World,
                                                   field: str) -> None:
    card = world.cards[2]
    route = add(session, world, **{field: [card.id]})
    with pytest.raises(Conflict) as info:
        provider_cards.delete_provider_card(session, OPERATOR, card.id)
    assert f"ingress route(s) {route.id}" in info.value.message
    routes.update_route(session, OPERATOR, world.customer.id, route.id, {field: []})
    provider_cards.delete_provider_card(session, OPERATOR, card.id)
    assert provider_cards.DELETE_GUARDS.count(routes.provider_card_guard) == 1


def test_customer_delete_takes_its_routes(session: Session, world: World) -> None:
    route = add(session, world)
    route_id = route.id
    customers.delete_customer(session, OPERATOR, world.customer.id)
    session.expire_all()
    assert session.get(IngressRoute, route_id) is None
