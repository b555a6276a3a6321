"""SIP users: HA1 only, unique usernames, write-only password, allowed IPs, audit masking."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from orchestrator.audit.models import AuditEntry
from orchestrator.audit.service import MASK
from orchestrator.customers import sip_users
from orchestrator.errors import Conflict, NotFound, ValidationFailed
from orchestrator.settings import Settings
from tests.unit.customers.conftest import OPERATOR, VIEWER

PASSWORD = "Tr0ub4dor&3-long"


def expected_ha1(username: str, realm: str, password: str) -> str:
    return hashlib.md5(f"{username}:{realm}:{password}".encode()).hexdigest()


def test_only_ha1_is_stored(session: Session, make_customer: Any) -> None:
    customer = make_customer()
    user = sip_users.add_sip_user(session, OPERATOR, customer.id,
                                  {"username": "acme.trunk-1", "password": PASSWORD,
                                   "channels": "10", "cps": 2}, realm="sip.example.net")
    session.commit()
    assert user.ha1 == expected_ha1("acme.trunk-1", "sip.example.net", PASSWORD)
    assert user.realm == "sip.example.net"
    row = session.execute(text("SELECT * FROM sip_users")).one()
    assert all(PASSWORD not in str(value) for value in row)
    out = sip_users.sip_user_to_dict(user)
    assert "password" not in out and "ha1" not in out
    assert PASSWORD not in repr(out)
    assert (out["channels"], out["cps"]) == (10, 2)


def test_realm_defaults_to_the_settings(session: Session, make_customer: Any,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_SIP_REALM", "switch.test")
    assert Settings().sip_realm == "switch.test"
    user = sip_users.add_sip_user(session, OPERATOR, make_customer().id,
                                  {"username": "bob", "password": PASSWORD})
    assert user.realm == "switch.test"
    assert user.ha1 == expected_ha1("bob", "switch.test", PASSWORD)


@pytest.mark.parametrize(("data", "field"), [
    ({"username": "ab", "password": PASSWORD}, "username"),
    ({"username": "a" * 65, "password": PASSWORD}, "username"),
    ({"username": "has space", "password": PASSWORD}, "username"),
    ({"username": "ünï", "password": PASSWORD}, "username"),
    ({"username": "alice@x", "password": PASSWORD}, "username"),
    ({"password": PASSWORD}, "username"),
    ({"username": "alice"}, "password"),
    ({"username": "alice", "password": "short7!"}, "password"),
    ({"username": "alice", "password": "ctrl\x01char-pass"}, "password"),
    ({"username": "alice-123", "password": "alice-123"}, "password"),
    ({"username": "alice", "password": PASSWORD, "channels": -1}, "channels"),
    ({"username": "alice", "password": PASSWORD, "cps": "x"}, "cps"),
    ({"username": "alice", "password": PASSWORD, "allowed_ips": ["10.0.0.1/8"]}, "allowed_ips"),
    ({"username": "alice", "password": PASSWORD, "allowed_ips": "nonsense"}, "allowed_ips"),
    ({"username": "alice", "password": PASSWORD, "ha1": "0" * 32}, "ha1"),
])
def test_bad_input_names_the_field(session: Session, make_customer: Any, data: dict[str, Any],
                                   field: str) -> None:
    customer = make_customer()
    with pytest.raises(ValidationFailed) as info:
        sip_users.add_sip_user(session, OPERATOR, customer.id, data, realm="r")
    assert field in info.value.errors
    assert sip_users.list_sip_users(session, VIEWER, customer.id) == []


def test_allowed_ips_are_normalised(session: Session, make_customer: Any) -> None:
    user = sip_users.add_sip_user(session, OPERATOR, make_customer().id, {
        "username": "alice", "password": PASSWORD,
        "allowed_ips": "192.0.2.1, 10.0.0.0/8\n2001:DB8::/48 192.0.2.1"}, realm="r")
    assert sip_users.sip_user_to_dict(user)["allowed_ips"] == [
        "192.0.2.1/32", "10.0.0.0/8", "2001:db8::/48"]


def test_username_unique_across_the_switch(session: Session, make_customer: Any) -> None:
    one, two = make_customer("One"), make_customer("Two")
    sip_users.add_sip_user(session, OPERATOR, one.id,
                           {"username": "trunk", "password": PASSWORD}, realm="r")
    with pytest.raises(Conflict) as info:
        sip_users.add_sip_user(session, OPERATOR, two.id,
                               {"username": "TRUNK", "password": PASSWORD}, realm="r")
    assert info.value.field == "username"


def test_password_change_recomputes_ha1(session: Session, make_customer: Any) -> None:
    customer = make_customer()
    user = sip_users.add_sip_user(session, OPERATOR, customer.id,
                                  {"username": "alice", "password": PASSWORD}, realm="r")
    sip_users.update_sip_user(session, OPERATOR, customer.id, user.id,
                              {"password": "another-secret"}, realm="r")
    assert user.ha1 == expected_ha1("alice", "r", "another-secret")


def test_rename_needs_a_new_password(session: Session, make_customer: Any) -> None:
    customer = make_customer()
    user = sip_users.add_sip_user(session, OPERATOR, customer.id,
                                  {"username": "alice", "password": PASSWORD}, realm="r")
    with pytest.raises(ValidationFailed) as info:
        sip_users.update_sip_user(session, OPERATOR, customer.id, user.id,
                                  {"username": "alice2"}, realm="r")
    assert list(info.value.errors) == ["password"]
    assert user.username == "alice"
    sip_users.update_sip_user(session, OPERATOR, customer.id, user.id,
                              {"username": "alice2", "password": "fresh-password"}, realm="r")
    assert user.ha1 == expected_ha1("alice2", "r", "fresh-password")
    sip_users.update_sip_user(session, OPERATOR, customer.id, user.id, {"cps": 3}, realm="r")
    assert user.ha1 == expected_ha1("alice2", "r", "fresh-password")  # untouched


def test_audit_masks_secrets_but_records_password_change(session: Session,
                                                         make_customer: Any) -> None:
    customer = make_customer()
    user = sip_users.add_sip_user(session, OPERATOR, customer.id,
                                  {"username": "alice", "password": PASSWORD}, realm="r")
    sip_users.update_sip_user(session, OPERATOR, customer.id, user.id,
                              {"password": "another-secret"}, realm="r")
    entries = list(session.scalars(select(AuditEntry).where(
        AuditEntry.object_type == "sip_user").order_by(AuditEntry.id)))
    assert [e.action for e in entries] == ["create", "update"]
    created, updated = entries
    assert created.after is not None and created.after["ha1"] == MASK
    assert updated.after == {"password": MASK}
    dumped = repr([(e.before, e.after, e.summary) for e in entries])
    assert PASSWORD not in dumped and "another-secret" not in dumped
    assert user.ha1 not in dumped


def test_delete_checks_the_owner(session: Session, make_customer: Any) -> None:
    one, two = make_customer("One"), make_customer("Two")
    user = sip_users.add_sip_user(session, OPERATOR, one.id,
                                  {"username": "alice", "password": PASSWORD}, realm="r")
    with pytest.raises(NotFound):
        sip_users.delete_sip_user(session, OPERATOR, two.id, user.id)
    with pytest.raises(NotFound):
        sip_users.update_sip_user(session, OPERATOR, two.id, user.id, {"cps": 1})
    sip_users.delete_sip_user(session, OPERATOR, one.id, user.id)
    assert sip_users.list_sip_users(session, VIEWER, one.id) == []
