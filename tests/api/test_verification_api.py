"""Verification over REST: codes delivered by a real SMTP server (aiosmtpd) and a real
HTTP SMS gateway through the job consumer, read from the message and entered back."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select, update

from orchestrator.actor import Actor
from orchestrator.audit.models import AuditEntry
from orchestrator.db.types import utcnow
from orchestrator.jobs import queue as jobqueue
from orchestrator.notify import config
from orchestrator.notify.models import Message
from orchestrator.users.models import AdminUser
from orchestrator.verification.codes import code_hash
from orchestrator.verification.models import VerificationCode
from tests.api.conftest import Api
from tests.support.jobs import running_consumer
from tests.support.mail import Inbox, SmsGateway, body_text, sms_gateway, smtp_server

ADMIN = Actor(None, "test", "admin")
MOBILE = "+447400123456"


@dataclass
class World:
    api: Api
    inbox: Inbox
    sms: SmsGateway

    def post(self, path: str, user: str = "oscar", **body: Any) -> Any:
        return self.api.client.post(f"/api/v1{path}", json=body,
                                    headers=self.api.auth(user))

    def get(self, path: str, user: str = "oscar") -> Any:
        return self.api.client.get(f"/api/v1{path}", headers=self.api.auth(user))

    def customer(self, **fields: Any) -> int:
        answer = self.post("/customers", name=fields.pop("name", "Acme"), currency="EUR",
                           **{"email": "noc@acme.example", "mobile": MOBILE,
                              "verification_required": True, **fields})
        assert answer.status_code == 201, answer.get_json()
        return int(answer.get_json()["id"])

    def email_code(self, count: int) -> str:
        messages = self.inbox.wait(count)
        assert len(messages) == count, f"{len(messages)} emails, expected {count}"
        match = re.search(r"\b(\d{6})\b", body_text(messages[-1]))
        assert match, body_text(messages[-1])
        return match.group(1)

    def sms_code(self, count: int) -> tuple[str, str]:
        requests = self.sms.wait(count)
        assert len(requests) == count
        form = parse_qs(requests[-1].body.decode())
        match = re.search(r"\b(\d{6})\b", form["text"][0])
        assert match, form
        return form["to"][0], match.group(1)

    def policy(self, **values: Any) -> None:
        with self.api.sessions.begin() as session:
            config.update_verification(session, ADMIN, values)


@pytest.fixture
def world(api: Api) -> Iterator[World]:
    settings = api.app.extensions["webui"].settings
    with smtp_server() as inbox, sms_gateway() as sms:
        with api.sessions.begin() as session:
            config.update_smtp(session, ADMIN, settings, {
                "host": "127.0.0.1", "port": inbox.port,
                "from_address": "switch@switch.test"})
            config.update_sms(session, ADMIN, {"url": f"{sms.url}/send"})
        queue = jobqueue.configure(settings)
        jobqueue.load_task_modules()
        with running_consumer(queue):
            yield World(api, inbox, sms)
        jobqueue.reset()


def test_email_code_from_the_smtp_server_verifies_the_email(world: World) -> None:
    cid = world.customer()
    sent = world.post(f"/customers/{cid}/verify/email/send")
    assert sent.status_code == 202, sent.get_json()
    body = sent.get_json()
    assert body["channel"] == "email" and body["target"] == "noc@acme.example"
    assert body["expires_at"] > body["resend_after"]  # 10 min vs 60 s
    code = world.email_code(1)
    [message] = world.inbox.messages
    assert message["To"] == "noc@acme.example"
    assert message["Subject"] == "Your verification code"
    assert "valid for 10 minutes" in body_text(message)
    state = world.get(f"/customers/{cid}/verification").get_json()
    assert state["channels"]["email"]["attempts_left"] == 5
    assert state["channels"]["email"]["code_expires_at"] == body["expires_at"]
    assert state["channels"]["email"]["resend_in_seconds"] > 0
    with world.api.sessions() as session:  # stored hashed with its own salt, never clear
        row = session.scalars(select(VerificationCode)).one()
        assert len(row.salt) == 32 and code not in (row.code_hash, row.salt)
        assert row.code_hash == code_hash(row.salt, code)
        logged = session.get(Message, body["message_id"])
        assert logged is not None and logged.purpose == "verification"
        assert logged.customer_id == cid and logged.status == "sent"

    done = world.post(f"/customers/{cid}/verify/email", code=code)
    assert done.status_code == 200, done.get_json()
    after = done.get_json()
    assert after["email_verified"] is True and after["mobile_verified"] is False
    assert after["needs_verification"] is True  # the mobile is still to verify
    assert world.get(f"/customers/{cid}").get_json()["email_verified"] is True
    with world.api.sessions() as session:
        actions = session.scalars(select(AuditEntry.action).where(
            AuditEntry.object_type == "customer", AuditEntry.object_id == cid)).all()
        assert "send_code" in actions and "verify" in actions
    again = world.post(f"/customers/{cid}/verify/email", code=code)
    assert again.status_code == 409  # already verified


def test_mobile_code_by_the_sms_gateway_verifies_the_mobile(world: World) -> None:
    cid = world.customer(email_verified=True)
    assert world.post(f"/customers/{cid}/verify/mobile/send").status_code == 202
    to, code = world.sms_code(1)
    assert to == MOBILE
    done = world.post(f"/customers/{cid}/verify/mobile", code=code)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["mobile_verified"] is True
    assert done.get_json()["needs_verification"] is False
    assert world.inbox.messages == []


def test_wrong_codes_are_counted_until_none_is_left(world: World) -> None:
    world.policy(max_attempts=3, resend_seconds=0)
    cid = world.customer()
    world.post(f"/customers/{cid}/verify/email/send")
    code = world.email_code(1)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    answers = [world.post(f"/customers/{cid}/verify/email", code=wrong) for _ in range(3)]
    assert [a.status_code for a in answers] == [422, 422, 422]
    assert [a.get_json()["errors"]["code"] for a in answers] == [
        ["wrong code, 2 attempts left"], ["wrong code, 1 attempt left"],
        ["wrong code, and that was the last attempt: send a new code"]]
    with world.api.sessions() as session:  # committed although the answers were errors
        assert session.scalars(select(VerificationCode.attempts)).one() == 3
    right = world.post(f"/customers/{cid}/verify/email", code=code)
    assert right.status_code == 422
    assert right.get_json()["errors"]["code"] == ["too many wrong codes: send a new code"]
    assert world.get(f"/customers/{cid}").get_json()["email_verified"] is False
    assert world.post(f"/customers/{cid}/verify/email/send").status_code == 202
    fresh = world.email_code(2)
    assert world.post(f"/customers/{cid}/verify/email", code=fresh).status_code == 200


def test_an_expired_code_is_refused(world: World) -> None:
    cid = world.customer()
    world.post(f"/customers/{cid}/verify/email/send")
    code = world.email_code(1)
    with world.api.sessions.begin() as session:
        session.execute(update(VerificationCode).values(
            expires_at=utcnow() - timedelta(seconds=1)))
    answer = world.post(f"/customers/{cid}/verify/email", code=code)
    assert answer.status_code == 422
    assert answer.get_json()["errors"]["code"] == ["the code has expired: send a new code"]
    assert world.get(f"/customers/{cid}").get_json()["email_verified"] is False
    state = world.get(f"/customers/{cid}/verification").get_json()
    assert state["channels"]["email"]["code_expires_at"] is None


def test_resend_too_soon_is_429_with_retry_after(world: World) -> None:
    cid = world.customer()
    assert world.post(f"/customers/{cid}/verify/email/send").status_code == 202
    again = world.post(f"/customers/{cid}/verify/email/send")
    assert again.status_code == 429
    assert 55 <= int(again.headers["Retry-After"]) <= 60
    assert "wait" in again.get_json()["errors"]["email"][0]
    world.email_code(1)
    time.sleep(0.3)
    assert len(world.inbox.messages) == 1
    with world.api.sessions() as session:
        assert len(session.scalars(select(VerificationCode)).all()) == 1


def test_a_new_code_replaces_the_old_and_a_new_email_voids_both(world: World) -> None:
    world.policy(resend_seconds=0)
    cid = world.customer()
    world.post(f"/customers/{cid}/verify/email/send")
    old = world.email_code(1)
    world.post(f"/customers/{cid}/verify/email/send")
    new = world.email_code(2)
    if old != new:
        refused = world.post(f"/customers/{cid}/verify/email", code=old)
        assert refused.status_code == 422
    assert world.api.client.patch(f"/api/v1/customers/{cid}", json={
        "email": "ops@acme.example"}, headers=world.api.auth("oscar")).status_code == 200
    moved = world.post(f"/customers/{cid}/verify/email", code=new)
    assert moved.status_code == 422
    assert moved.get_json()["errors"]["code"] == [
        "no code was sent to ops@acme.example: send a code first"]
    world.post(f"/customers/{cid}/verify/email/send")
    latest = world.email_code(3)
    assert world.inbox.messages[-1]["To"] == "ops@acme.example"
    assert world.post(f"/customers/{cid}/verify/email", code=latest).status_code == 200


def test_missing_email_and_invalid_mobile_are_named(world: World) -> None:
    cid = world.customer(email="", mobile="")
    answer = world.post(f"/customers/{cid}/verify/email/send")
    assert answer.status_code == 422
    assert answer.get_json()["errors"]["email"] == [
        "customer Acme has no email address: edit the customer and set its email"]
    answer = world.post(f"/customers/{cid}/verify/mobile/send")
    assert "set its mobile in E.164" in answer.get_json()["errors"]["mobile"][0]
    bad = world.api.client.patch(f"/api/v1/customers/{cid}", json={"mobile": "+1 555 0100"},
                                 headers=world.api.auth("oscar"))
    assert bad.status_code == 422
    assert bad.get_json()["errors"]["mobile"][0].startswith(
        "+1 555 0100 is not a valid phone number")
    assert world.post(f"/customers/{cid}/verify/sms/send").status_code == 404
    assert world.post(f"/customers/{cid}/verify/email", code="12a").get_json()[
        "errors"]["code"] == ["must be the 6 digits of the message"]
    time.sleep(0.2)
    assert world.inbox.messages == [] and world.sms.requests == []


def test_reset_unverifies_and_voids_codes(world: World) -> None:
    cid = world.customer(email_verified=True, mobile_verified=True)
    assert world.get(f"/customers/{cid}/verification").get_json()[
        "needs_verification"] is False
    assert world.post(f"/customers/{cid}/verify/reset").status_code == 422
    assert world.post(f"/customers/{cid}/verify/reset", "vera", email=True).status_code == 403
    done = world.post(f"/customers/{cid}/verify/reset", "oscar", mobile=True)
    assert done.status_code == 200, done.get_json()
    state = done.get_json()
    assert state["email_verified"] is True and state["mobile_verified"] is False
    assert state["needs_verification"] is True
    world.post(f"/customers/{cid}/verify/mobile/send")
    _, code = world.sms_code(1)
    world.post(f"/customers/{cid}/verify/reset", "alice", mobile=True)
    refused = world.post(f"/customers/{cid}/verify/mobile", code=code)
    assert refused.get_json()["errors"]["code"] == ["the code has expired: send a new code"]


def test_a_viewer_cannot_send_or_verify_a_customers_codes(world: World) -> None:
    cid = world.customer()
    assert world.post(f"/customers/{cid}/verify/email/send", "vera").status_code == 403
    assert world.post(f"/customers/{cid}/verify/email", "vera",
                      code="123456").status_code == 403
    assert world.get(f"/customers/{cid}/verification", "vera").status_code == 200
    assert world.post("/customers/999/verify/email/send").status_code == 404
    time.sleep(0.2)
    assert world.inbox.messages == []


def test_own_account_verification_and_notifications(world: World) -> None:
    world.customer(name="Needs")
    world.customer(name="Done", email_verified=True, mobile_verified=True)
    world.customer(name="Free", verification_required=False)
    notes = world.get("/notifications", "vera").get_json()
    assert [i["channel"] for i in notes["account"]["items"]] == ["email", "mobile"]
    assert notes["customers"]["count"] == 1
    assert [c["name"] for c in notes["customers"]["items"]] == ["Needs"]
    assert notes["count"] == 3
    missing = world.post("/account/verify/email/send", "vera")
    assert missing.status_code == 422
    assert "your account has no email address" in missing.get_json()["errors"]["email"][0]
    with world.api.sessions.begin() as session:
        vera = session.scalars(select(AdminUser).where(AdminUser.username == "vera")).one()
        vera.email = "vera@switch.test"
    assert world.post("/account/verify/email/send", "vera").status_code == 202
    code = world.email_code(1)
    assert world.inbox.messages[0]["To"] == "vera@switch.test"
    done = world.post("/account/verify/email", "vera", code=code)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["email_verified"] is True
    notes = world.get("/notifications", "vera").get_json()
    assert [i["channel"] for i in notes["account"]["items"]] == ["mobile"]
    assert world.get("/account/verification", "oscar").get_json()["email_verified"] is False
