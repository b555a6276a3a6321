"""The verification service on its own (no delivery): accounts, permissions, mobile
numbers, what the notification menu counts. Delivery and codes entered through every
interface: tests/api/test_verification_api.py, test_cli_verify.py, the web tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.customers import service
from orchestrator.customers.validation import BadValue, mobile
from orchestrator.db import make_engine, session_factory, upgrade
from orchestrator.errors import PermissionDenied, ValidationFailed
from orchestrator.notify.models import Message
from orchestrator.users.models import AdminUser
from orchestrator.users.service import create_user
from orchestrator.verification import account, codes, pending, subjects
from orchestrator.verification.models import VerificationCode

ADMIN = Actor(None, "test", "admin")


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    url = f"sqlite:///{tmp_path / 'v.db'}"
    upgrade(url)
    engine = make_engine(url)
    with session_factory(engine)() as s:
        yield s
    engine.dispose()


def user(session: Session, name: str, role: str = "viewer") -> tuple[AdminUser, Actor]:
    found = create_user(session, name, "a long enough password", role)
    return found, Actor(found.id, found.username, found.role)


@pytest.mark.parametrize(("raw", "stored"), [
    ("+44 7400 123-456", "+447400123456"), ("+1 (202) 555-0123", "+12025550123"),
    ("+33 6 12 34 56 78", "+33612345678"), ("", "")])
def test_mobile_numbers_are_stored_as_e164(raw: str, stored: str) -> None:
    assert mobile(raw) == stored


@pytest.mark.parametrize(("raw", "message"), [
    ("+1 555 0100", "+1 555 0100 is not a valid phone number: check the country code "
     "and the number of digits, e.g. +447400123456"),
    ("07700900123", "must be an E.164 number"),
    ("+44 20 7946 00000", "is not a valid phone number")])
def test_invalid_mobile_numbers_are_refused_clearly(raw: str, message: str) -> None:
    with pytest.raises(BadValue, match=re.escape(message)):
        mobile(raw)


def test_an_account_is_verified_by_its_own_user_only(session: Session) -> None:
    vera, as_vera = user(session, "vera")
    _, as_olga = user(session, "olga", "admin")
    with pytest.raises(PermissionDenied, match="its own user only"):
        codes.send_code(session, as_olga, subjects.user(vera.id), "email")
    with pytest.raises(ValidationFailed) as missing:
        codes.send_code(session, as_vera, subjects.user(vera.id), "email")
    assert missing.value.errors == {"email": [
        "your account has no email address: set your email on your account page first"]}
    assert session.scalars(select(Message)).all() == []


def test_changing_the_account_email_unverifies_it(session: Session) -> None:
    vera, as_vera = user(session, "vera")
    account.update_contact(session, as_vera, vera.id, {"email": "vera@switch.test"})
    sent = codes.send_code(session, as_vera, subjects.user(vera.id), "email")
    assert sent.target == "vera@switch.test"
    [message] = session.scalars(select(Message)).all()
    assert message.purpose == "verification" and message.customer_id is None
    vera.email_verified = True
    with pytest.raises(ValidationFailed) as bad:
        account.update_contact(session, as_vera, vera.id, {"mobile": "+1 555 0100",
                                                           "phone": "1"})
    assert set(bad.value.errors) == {"mobile", "phone"}
    assert vera.email_verified is True  # nothing changed
    account.update_contact(session, as_vera, vera.id, {"email": "v@switch.test",
                                                       "mobile": "+447400123456"})
    assert (vera.email, vera.email_verified, vera.mobile) == (
        "v@switch.test", False, "+447400123456")
    with pytest.raises(ValidationFailed, match=re.escape("no code was sent to v@switch.test")):
        codes.check_code(session, as_vera, subjects.user(vera.id), "email", "123456")


def test_reset_needs_a_channel_and_write(session: Session) -> None:
    cid = service.create_customer(session, ADMIN, {"name": "Acme", "currency": "EUR",
                                                   "email_verified": True}).id
    _, as_viewer = user(session, "vic")
    with pytest.raises(PermissionDenied):
        codes.reset(session, as_viewer, cid, ["email"])
    with pytest.raises(ValidationFailed, match="choose email, mobile or both"):
        codes.reset(session, ADMIN, cid, ["fax"])
    assert codes.reset(session, ADMIN, cid, ["email"]).email_verified is False


def test_the_menu_counts_customers_awaiting_verification(session: Session) -> None:
    for name, extra in (("Needs", {}), ("Half", {"email_verified": True}),
                        ("Done", {"email_verified": True, "mobile_verified": True}),
                        ("Free", {"verification_required": False})):
        service.create_customer(session, ADMIN, {"name": name, "currency": "EUR",
                                                 "verification_required": True, **extra})
    assert pending.customers_needing_count(session) == 2
    assert [c["name"] for c in pending.customers_needing(session, ADMIN)] == [
        "Half", "Needs"]
    vera, _ = user(session, "vera")
    vera.mobile_verified = True
    assert [i["label"] for i in pending.account_items(vera)] == ["Verify your email"]
    assert session.scalars(select(VerificationCode)).all() == []
