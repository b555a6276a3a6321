"""compile_snapshot on models built through the services."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from orchestrator.carriers import gateways as gateway_service
from orchestrator.carriers import service as carriers
from orchestrator.carriers.models import Carrier
from orchestrator.compile.compiler import compile_snapshot, dial_pattern
from orchestrator.compile.snapshot import Snapshot
from orchestrator.compile.tariffs import tariff_rows
from orchestrator.customers import ips, payments, sip_users
from orchestrator.customers import service as customers
from orchestrator.customers.models import Customer
from orchestrator.db import make_engine, session_factory
from orchestrator.errors import ValidationFailed
from orchestrator.jobs.queue import RunContext
from orchestrator.ratecards import customer_cards
from orchestrator.ratecards.models import CustomerCard
from orchestrator.ratecards.tasks import build_one
from orchestrator.routing import routes
from orchestrator.routing.models import IngressRoute
from orchestrator.settings import Settings
from tests.unit.ratecards.cards_support import ADMIN, provider, revision
from tests.unit.ratecards.cards_support import customer as customer_card
from tests.unit.routing import conftest as routing_db

migrated_db, db_url, session = routing_db.migrated_db, routing_db.db_url, routing_db.session


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path, media_zones={"us": "udp:10.0.0.6:2223",
                                                   "eu": "udp:10.0.0.5:2223"})


def party(session: Session, name: str, **fields: Any) -> Customer:
    return customers.create_customer(session, ADMIN, {"name": name, "currency": "USD"} | fields)


def tariff(session: Session, name: str = "Retail", active: bool = True) -> CustomerCard:
    card = customer_card(session, name)
    if active:
        revision(session, card, [("44", "UK", 1000)])
    return card


def route(session: Session, owner: Customer, card: CustomerCard, **fields: Any) -> IngressRoute:
    return routes.create_route(session, ADMIN, owner.id, {"tariff_id": card.id} | fields)


def carrier(session: Session, name: str, gateways: list[dict[str, Any]],
            **fields: Any) -> Carrier:
    return carriers.create_carrier(session, ADMIN, {"name": name, "currency": "USD"} | fields,
                                   gateways)


def members(snap: Snapshot) -> dict[int, tuple[int, ...]]:
    return {g.group: g.customer_ids for g in snap.groups}


def test_same_model_same_version_and_a_changed_route_changes_it(
        session: Session, settings: Settings) -> None:
    card = tariff(session)
    acme, beta = party(session, "Acme"), party(session, "Beta")
    ips.add_ip(session, ADMIN, acme.id, {"network": "192.0.2.7"})
    ips.add_ip(session, ADMIN, beta.id, {"network": "192.0.2.0/24", "port": 5060})
    r1 = route(session, acme, card, tech_prefix="11", dial_string="44")
    route(session, beta, card)
    carrier(session, "Telco", [{"host": "198.51.100.1"}])
    first, second = compile_snapshot(session, settings), compile_snapshot(session, settings)
    assert first == second and first.version == second.version
    assert Snapshot.from_json(first.to_json()) == first
    routes.update_route(session, ADMIN, acme.id, r1.id, {"max_duration": 3600})
    changed = compile_snapshot(session, settings)
    assert changed.version != first.version
    assert next(r for r in changed.routes if r.id == r1.id).max_duration == 3600


def test_shared_and_overlapping_ips_make_exact_groups(session: Session,
                                                      settings: Settings) -> None:
    a, b, c = party(session, "A"), party(session, "B"), party(session, "C")
    ips.add_ip(session, ADMIN, a.id, {"network": "10.0.0.0/24"})
    ips.add_ip(session, ADMIN, b.id, {"network": "10.0.0.5", "port": 5060})
    ips.add_ip(session, ADMIN, c.id, {"network": "10.0.0.5"})
    sip_users.add_sip_user(session, ADMIN, c.id, {"username": "carol", "password": "s3cret-pw"},
                           realm=settings.sip_realm)
    snap = compile_snapshot(session, settings)
    rows = {(r.network, r.port): members(snap)[r.group] for r in snap.addresses}
    assert rows == {("10.0.0.0/24", 0): (a.id,), ("10.0.0.5/32", 5060): (a.id, b.id, c.id),
                    ("10.0.0.5/32", 0): (a.id, c.id)}
    user = snap.sip_users[0]
    assert (user.username, user.customer_id) == ("carol", c.id)
    assert members(snap)[user.group] == (c.id,)
    assert sorted(members(snap).values()) == [(a.id,), (a.id, b.id, c.id), (a.id, c.id),
                                              (c.id,)]


def test_competing_routes_lowest_priority_then_lowest_id_wins(session: Session,
                                                              settings: Settings) -> None:
    card = tariff(session)
    a, b = party(session, "A"), party(session, "B")
    for owner in (a, b):
        ips.add_ip(session, ADMIN, owner.id, {"network": "192.0.2.7"})
    a_low = route(session, a, card, priority=5)
    b_high = route(session, b, card, priority=1)
    a_tp = route(session, a, card, tech_prefix="99", priority=7)
    b_tp = route(session, b, card, tech_prefix="99", priority=7)  # same priority: lower id
    a_other = route(session, a, card, tech_prefix="99", priority=3, enabled=False)
    snap = compile_snapshot(session, settings)
    (group,) = [g for g, ids in members(snap).items() if ids == (a.id, b.id)]
    ingress = {(i.group, i.tech_prefix): i.route_id for i in snap.ingress}
    assert ingress == {(group, ""): b_high.id, (group, "99"): min(a_tp.id, b_tp.id)}
    assert a_low.id in {r.id for r in snap.routes}  # compiled, but it loses the key
    assert a_other.id not in {r.id for r in snap.routes}  # disabled: left out
    routes.update_route(session, ADMIN, b.id, b_high.id, {"priority": 9})
    snap = compile_snapshot(session, settings)
    assert {(i.group, i.tech_prefix): i.route_id for i in snap.ingress}[(group, "")] == a_low.id


def test_customer_states_and_credit(session: Session, settings: Settings) -> None:
    ok = party(session, "Ok", debit_limit="10")
    off = party(session, "Off", status="inactive")
    unverified = party(session, "Unverified", verification_required=True,
                       email_verified=True)
    verified = party(session, "Verified", verification_required=True, email_verified=True,
                     mobile_verified=True)
    prepaid = party(session, "Prepaid")
    payments.add_payment(session, ADMIN, prepaid.id, {"amount": "5", "status": "completed"})
    pending = party(session, "Pending")
    payments.add_payment(session, ADMIN, pending.id, {"amount": "5"})
    snap = compile_snapshot(session, settings)
    rows = {c.id: (c.state, c.credit) for c in snap.customers}
    assert rows == {ok.id: ("ok", True), off.id: ("inactive", False),
                    unverified.id: ("unverified", False), verified.id: ("ok", False),
                    prepaid.id: ("ok", True), pending.id: ("ok", False)}


def test_carriers_only_active_with_enabled_gateways(session: Session,
                                                    settings: Settings) -> None:
    live = carrier(session, "Live", [{"host": "2001:db8::1", "port": 5070},
                                     {"host": "sip.example.com", "transport": "tcp",
                                      "weight": 3},
                                     {"host": "198.51.100.9", "enabled": False}],
                   pre_ring_timeout=5, post_ring_timeout=40, channels=10)
    carrier(session, "Asleep", [{"host": "198.51.100.2"}], status="inactive")
    dark = carrier(session, "Dark", [{"host": "198.51.100.3", "enabled": False}])
    live_card = provider(session, "Live A-Z", carrier_id=live.id, tech_prefix="123")
    provider(session, "Dark A-Z", carrier_id=dark.id)
    snap = compile_snapshot(session, settings)
    assert [(c.id, c.pre_ring_ms, c.post_ring_ms, c.channels) for c in snap.carriers] == [
        (live.id, 5000, 40000, 10)]
    assert [(g.uri, g.weight) for g in snap.gateways] == [
        ("sip:[2001:db8::1]:5070", 1), ("sip:sip.example.com:5060;transport=tcp", 3)]
    assert [(p.id, p.carrier_id, p.tech_prefix) for p in snap.provider_cards] == [
        (live_card.id, live.id, "123")]
    gateway_service.update_gateway(session, ADMIN, dark.id, dark.gateways[0].id,
                                   {"enabled": True})
    assert dark.id in {c.id for c in compile_snapshot(session, settings).carriers}


def test_dial_strings_become_anchored_rules(session: Session, settings: Settings) -> None:
    card = tariff(session)
    owner = party(session, "A")
    dialled = route(session, owner, card, dial_string="44\n\n  ^1(204|226)  \n33|34\n4420",
                    tech_prefix="1")
    open_route = route(session, owner, card, tech_prefix="2")
    snap = compile_snapshot(session, settings)
    assert [(r.route_id, r.position, r.pattern) for r in snap.dial_rules] == [
        (dialled.id, 1, "^44"), (dialled.id, 2, "^1(204|226)"), (dialled.id, 3, "^(?:33|34)"),
        (dialled.id, 4, "^4420")]
    flags = {r.id: r.has_dial_string for r in snap.routes}
    assert flags == {dialled.id: True, open_route.id: False}


def test_route_fields_media_zones_and_strategy(session: Session, settings: Settings) -> None:
    card = tariff(session)
    owner = party(session, "A")
    ips.add_ip(session, ADMIN, owner.id, {"network": "192.0.2.1"})
    pa, pb = provider(session, "PA"), provider(session, "PB")
    us = route(session, owner, card, tech_prefix="1", rtp_proxy="us", rtp_proxy_mode="strict",
               sip_ping="upstream", lock_cards=[pb.id, pa.id], strategy="reverse_lcr",
               name="us")
    direct = route(session, owner, card, tech_prefix="2", rtp_proxy="direct",
                   exclude_cards=[pa.id])
    auto = route(session, owner, card, tech_prefix="3")
    snap = compile_snapshot(session, settings)
    rows = {r.id: r for r in snap.routes}
    assert [(z.name, z.set_id) for z in snap.media_zones] == [("auto", 0), ("eu", 1),
                                                              ("us", 2)]
    assert (rows[us.id].media_set, rows[direct.id].media_set, rows[auto.id].media_set) == (
        2, -1, 0)
    assert (rows[us.id].strict, rows[auto.id].strict) == (True, False)
    assert (rows[us.id].sip_ping, rows[auto.id].sip_ping) == (2, 0)
    assert (rows[us.id].cards_mode, rows[us.id].cards) == ("lock", (pa.id, pb.id))
    assert (rows[direct.id].cards_mode, rows[direct.id].cards) == ("exclude", (pa.id,))
    assert (rows[auto.id].cards_mode, rows[auto.id].cards) == ("", ())
    assert (rows[us.id].strategy, rows[auto.id].strategy) == ("reverse_lcr", "lcr")
    assert snap.realm == settings.sip_realm


def test_an_unknown_media_zone_names_the_route(session: Session, settings: Settings) -> None:
    card = tariff(session)
    owner = party(session, "Acme")
    bad = route(session, owner, card, rtp_proxy="asia", name="Asia")
    with pytest.raises(ValidationFailed) as error:
        compile_snapshot(session, settings)
    key = f"route {bad.id} (Asia) of customer Acme"
    assert key in error.value.errors
    assert "'asia' is not configured" in error.value.errors[key][0]


def test_a_tariff_without_active_revision_leaves_the_route_out_with_a_warning(
        session: Session, settings: Settings) -> None:
    live, dormant = tariff(session, "Live"), tariff(session, "Dormant", active=False)
    owner = party(session, "Acme")
    ips.add_ip(session, ADMIN, owner.id, {"network": "192.0.2.1"})
    kept = route(session, owner, live, tech_prefix="1")
    lost = route(session, owner, dormant, tech_prefix="2", name="dormant")
    snap = compile_snapshot(session, settings)
    assert [r.id for r in snap.routes] == [kept.id]
    assert [i.route_id for i in snap.ingress] == [kept.id]
    assert [t.customer_card_id for t in snap.tariffs] == [live.id]
    (warning,) = snap.warnings
    assert f"route {lost.id} (dormant) of customer Acme" in warning
    assert "'Dormant' has no active revision" in warning
    assert "404 No Ingress Route" in warning


def test_customers_without_routes_and_weights_appear(session: Session,
                                                     settings: Settings) -> None:
    pa, pb = provider(session, "PA"), provider(session, "PB")
    card = customer_cards_with_parents(session, [(pb.id, 5, 2), (pa.id, 1, 0)])
    lonely = party(session, "Lonely")
    snap = compile_snapshot(session, settings)
    assert [c.id for c in snap.customers] == [lonely.id]
    assert snap.routes == () and snap.tariffs == ()
    assert [(w.customer_card_id, w.provider_card_id, w.weight) for w in snap.weights] == [
        (card.id, pa.id, 1), (card.id, pb.id, 5)]


def customer_cards_with_parents(session: Session, parents: list[tuple[int, int, int]],
                                name: str = "Weighted", **fields: Any) -> CustomerCard:
    return customer_cards.create_customer_card(session, ADMIN, {
        "name": name, "currency": "USD",
        "parents": [{"provider_card_id": pc, "weight": w, "priority": p}
                    for pc, w, p in parents]} | fields)


def test_sip_user_of_another_realm_is_warned(session: Session, settings: Settings) -> None:
    owner = party(session, "Acme")
    sip_users.add_sip_user(session, ADMIN, owner.id, {"username": "old.user",
                                                     "password": "s3cret-pw"}, realm="other")
    snap = compile_snapshot(session, settings)
    assert snap.sip_users[0].username == "old.user"
    assert any("old.user" in w and "'other'" in w for w in snap.warnings)


def test_built_and_external_cards_become_tariff_refs_with_rows(
        session: Session, settings: Settings, db_url: str) -> None:
    cheap, dear = provider(session, "Cheap"), provider(session, "Dear")
    revision(session, cheap, [("44", "UK", 800)])
    revision(session, dear, [("4", "World", 1200)])
    built = customer_card(session, "Built", parents=[cheap, dear], rate_compact="min",
                          precision=8)
    external = customer_cards_with_parents(session, [(dear.id, 1, 0)], name="Ext",
                                           external=True)
    ext_rev = revision(session, external, [("447", "Mobile", 1000)])
    owner = party(session, "Acme")
    ips.add_ip(session, ADMIN, owner.id, {"network": "192.0.2.1"})
    route(session, owner, built, tech_prefix="1")
    route(session, owner, external, tech_prefix="2")
    session.commit()
    engine = make_engine(db_url)
    result = build_one(RunContext(settings, session_factory(engine)), ADMIN, built.id,
                       True, lambda fraction, message: None)
    engine.dispose()
    assert result["state"] == "active"
    session.expire_all()
    snap = compile_snapshot(session, settings)
    refs = {t.customer_card_id: t for t in snap.tariffs}
    assert refs[built.id].tree == f"t{result['revision_id']}"
    assert not refs[built.id].external
    assert refs[external.id].external and refs[external.id].revision_id == ext_rev.id
    assert refs[external.id].tree.startswith(f"t{ext_rev.id}x")
    assert {r.tree for r in snap.routes} == {refs[built.id].tree, refs[external.id].tree}
    rows = dict(tariff_rows(session, refs[built.id]).iter_rows())
    # 44: both parents serve (800 and 1200 via "4"); min compacts to a sell of 800.
    assert rows["44"].split("|")[5:] == [f"{cheap.id}:800:0;{dear.id}:1200:1", "1;0"]
    assert rows["4"] == f"1200|1|1|0|a|{dear.id}:1200:0|0"
    ext_rows = dict(tariff_rows(session, refs[external.id]).iter_rows())
    assert ext_rows == {"447": f"1000|1|1|0|a|{dear.id}:1200:1|0"}


def test_compile_refuses_a_pattern_pcre_lacks_naming_the_route_and_line(
        session: Session, settings: Settings) -> None:
    card = tariff(session)
    owner = party(session, "Acme")
    bad = route(session, owner, card, dial_string="44\n(?a)^1\\d+", name="odd")
    assert dial_pattern("(?a)1") == "(?a)^(?:1)"
    with pytest.raises(ValidationFailed) as error:
        compile_snapshot(session, settings)
    where = f"route {bad.id} (odd), dial string line 2"
    assert list(error.value.errors) == [where]
    assert "PCRE does not have" in error.value.errors[where][0]
