"""Header policy fields through the customer and carrier services into the snapshot,
and explain's notes on them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from orchestrator.carriers import service as carriers
from orchestrator.compile.compiler import compile_snapshot
from orchestrator.customers import csv_import
from orchestrator.customers import service as customers
from orchestrator.errors import ValidationFailed
from orchestrator.header_policy import DEFAULT_PASS
from orchestrator.routing.explain_headers import carrier_notes, customer_notes
from orchestrator.routing.explain_index import index_of
from orchestrator.settings import Settings
from tests.unit.compile.test_compiler import carrier, party
from tests.unit.ratecards.cards_support import ADMIN, provider
from tests.unit.routing import conftest as routing_db

migrated_db, db_url, session = routing_db.migrated_db, routing_db.db_url, routing_db.session


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path)


def test_defaults_and_values_reach_the_snapshot(session: Session, settings: Settings) -> None:
    plain = party(session, "Plain")
    strict = party(session, "Strict", pass_headers=["x-acme-*", "X-Foo", "diversion"],
                   pai="require")
    trusted = carrier(session, "Trusted", [{"host": "198.51.100.1"}])
    other = carrier(session, "Other", [{"host": "198.51.100.2"}], pass_headers="",
                    trust_pai="no")
    assert customers.customer_to_dict(strict)["pass_headers"] == [
        "Diversion", "X-acme-*", "X-Foo"]
    assert carriers.to_dict(other)["pass_headers"] == [] and not other.trust_pai
    snap = compile_snapshot(session, settings)
    rows = {c.id: (c.pass_headers, c.pai) for c in snap.customers}
    assert rows == {plain.id: (DEFAULT_PASS, "accept"),
                    strict.id: ("Diversion, X-acme-*, X-Foo", "require")}
    assert {c.id: (c.pass_headers, c.trust_pai) for c in snap.carriers} == {
        trusted.id: (DEFAULT_PASS, True), other.id: ("", False)}


def test_updates_and_errors_name_the_field(session: Session) -> None:
    customer = party(session, "Acme")
    customers.update_customer(session, ADMIN, customer.id, {"pass_headers": "X-Bar",
                                                            "pai": "remove"})
    assert (customer.pass_headers, customer.pai) == ("X-Bar", "remove")
    with pytest.raises(ValidationFailed) as bad:
        customers.update_customer(session, ADMIN, customer.id,
                                  {"pass_headers": "X-Bar, P-Foo", "pai": "sometimes"})
    assert "is not filtered by the switch" in bad.value.errors["pass_headers"][0]
    assert "accept, require, remove" in bad.value.errors["pai"][0]
    assert customer.pass_headers == "X-Bar"

    kept = carrier(session, "Kept", [{"host": "198.51.100.3"}])
    carriers.update_carrier(session, ADMIN, kept.id, {"pass_headers": "X-*, Diversion",
                                                      "trust_pai": False})
    assert (kept.pass_headers, kept.trust_pai) == ("Diversion, X-*", False)
    with pytest.raises(ValidationFailed) as bad:
        carriers.update_carrier(session, ADMIN, kept.id, {"pass_headers": "Diversion*"})
    assert "only allowed for X- headers" in bad.value.errors["pass_headers"][0]


def test_explain_notes(session: Session, settings: Settings) -> None:
    customer = party(session, "Needs PAI", pai="require", pass_headers="X-Foo")
    private = carrier(session, "Private", [{"host": "198.51.100.4"}], trust_pai=False)
    card = provider(session, "Private A-Z", carrier_id=private.id)
    snap = compile_snapshot(session, settings)
    row = next(c for c in snap.customers if c.id == customer.id)
    notes = customer_notes(row)
    assert "passes X-Foo" in notes[0]
    assert "403 PAI Required" in notes[1]
    (note,) = carrier_notes(index_of(snap), [card.id])
    assert f"carrier {private.id} passes {DEFAULT_PASS}, no PAI" in note


def test_csv_import_takes_the_policy_columns(session: Session) -> None:
    content = b"name,currency,headers,pai\nAcme,USD,Diversion; x-foo,remove\nBolt,USD,,\n"
    result = csv_import.import_customers(
        session, ADMIN, content, {"name": "name", "currency": "currency",
                                  "headers": "pass_headers", "pai": "pai"})
    acme, bolt = result.created
    assert (acme.pass_headers, acme.pai) == ("Diversion, X-foo", "remove")
    assert (bolt.pass_headers, bolt.pai) == (DEFAULT_PASS, "accept")  # empty cell: default
