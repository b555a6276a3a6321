"""/api/v1/settings/{smtp,sms,verification}: read, change (admins), write-only secrets
encrypted at rest and kept out of the audit log, one error per bad field with nothing
saved, and the test buttons against a real SMTP server (aiosmtpd) and HTTP gateway."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select

from orchestrator.audit.models import AuditEntry
from orchestrator.notify.models import Message, StoredSettings
from tests.api.conftest import Api
from tests.support.mail import body_text, sms_gateway, smtp_server
from tests.support.ports import free_port

BASE = "/api/v1/settings"
SECRET = "s3cret-Pa55word!"


def put(api: Api, group: str, body: dict[str, Any], user: str = "alice") -> Any:
    return api.client.put(f"{BASE}/{group}", headers=api.auth(user), json=body)


def get(api: Api, group: str, user: str = "alice") -> dict[str, Any]:
    answer = api.client.get(f"{BASE}/{group}", headers=api.auth(user))
    assert answer.status_code == 200, answer.json
    return dict(answer.json)


def stored(api: Api, name: str) -> dict[str, Any] | None:
    with api.sessions() as session:
        row = session.get(StoredSettings, name)
        return dict(row.value) if row is not None else None


def audit_text(api: Api) -> str:
    with api.sessions() as session:
        entries = session.scalars(select(AuditEntry).where(
            AuditEntry.object_type == "settings")).all()
        return json.dumps([[e.summary, e.before, e.after] for e in entries])


def test_smtp_defaults_come_from_the_file_settings_and_viewers_may_read(api: Api) -> None:
    found = get(api, "smtp", "vera")
    assert found == {"host": "", "port": 25, "security": "none", "username": "",
                     "password_set": False, "from_address": "switch@localhost",
                     "timeout_seconds": 30}


def test_smtp_password_is_write_only_encrypted_and_not_audited(api: Api) -> None:
    answer = put(api, "smtp", {"host": "mail.example.com", "port": 587,
                               "security": "starttls", "username": "switch",
                               "password": SECRET, "from_address": "Switch <noc@example.com>"})
    assert answer.status_code == 200, answer.json
    assert answer.json["password_set"] is True and "password" not in answer.json
    assert answer.json["from_address"] == "Switch <noc@example.com>"
    raw = json.dumps(stored(api, "smtp"))
    assert SECRET not in raw and "password_encrypted" in raw
    assert SECRET not in audit_text(api) and "smtp settings updated" in audit_text(api)
    # absent keeps the password, other fields change
    assert put(api, "smtp", {"port": 2525}).json["password_set"] is True
    assert get(api, "smtp")["port"] == 2525
    # null keeps it too, "" clears it
    assert put(api, "smtp", {"password": None}).json["password_set"] is True
    cleared = put(api, "smtp", {"password": ""})
    assert cleared.status_code == 200 and cleared.json["password_set"] is False
    assert get(api, "smtp")["host"] == "mail.example.com"


def test_only_admins_change_or_test(api: Api) -> None:
    for user in ("oscar", "vera"):
        assert put(api, "smtp", {"port": 2525}, user).status_code == 403
        assert put(api, "sms", {"sender": "X"}, user).status_code == 403
        assert put(api, "verification", {"max_attempts": 3}, user).status_code == 403
        for group, to in (("smtp", "a@example.com"), ("sms", "+447400123456")):
            answer = api.client.post(f"{BASE}/{group}/test", headers=api.auth(user),
                                     json={"to": to})
            assert answer.status_code == 403
    assert stored(api, "smtp") is None and stored(api, "sms") is None


@pytest.mark.parametrize(("body", "field"), [
    ({"host": "bad host!"}, "host"),
    ({"port": 0}, "port"),
    ({"port": 70000}, "port"),
    ({"security": "ssl"}, "security"),
    ({"from_address": "not-an-address"}, "from_address"),
    ({"timeout_seconds": 0}, "timeout_seconds"),
    ({"password": "x"}, "username"),  # a password without a username
    ({"colour": "blue"}, "colour"),
])
def test_bad_smtp_field_is_named_and_nothing_changes(api: Api, body: dict[str, Any],
                                                     field: str) -> None:
    assert put(api, "smtp", {"host": "mail.example.com", "port": 25}).status_code == 200
    before, row = get(api, "smtp"), stored(api, "smtp")
    answer = put(api, "smtp", {"security": "starttls", **body})
    assert answer.status_code == 422, answer.json
    assert field in answer.json["errors"], answer.json
    assert get(api, "smtp") == before and stored(api, "smtp") == row


@pytest.mark.parametrize(("body", "field", "text"), [
    ({"body_template": "to={to}&text={text}&x={foo}"}, "body_template", "{foo}"),
    ({"url": "ftp://sms.example.com/send"}, "url", "http"),
    ({"url": "https://sms.example.com/{bar}"}, "url", "{bar}"),
    ({"auth": "basic", "username": "", "password": "p"}, "username", "basic"),
    ({"auth": "bearer"}, "password", "bearer"),
    ({"method": "DELETE"}, "method", "POST"),
    ({"content_type": "xml"}, "content_type", "json"),
    ({"body_template": "text={text}"}, "body_template", "{to}"),
])
def test_bad_sms_field_is_named_and_nothing_changes(api: Api, body: dict[str, Any],
                                                    field: str, text: str) -> None:
    assert put(api, "sms", {"url": "https://sms.example.com/send"}).status_code == 200
    before, row = get(api, "sms"), stored(api, "sms")
    answer = put(api, "sms", body)
    assert answer.status_code == 422, answer.json
    assert text in " ".join(answer.json["errors"][field]), answer.json
    assert get(api, "sms") == before and stored(api, "sms") == row


def test_twilio_preset_fills_the_form_api_and_the_token_is_write_only(api: Api) -> None:
    answer = put(api, "sms", {"preset": "twilio", "username": "AC123", "password": SECRET,
                              "sender": "+15005550006"})
    assert answer.status_code == 200, answer.json
    found = answer.json
    assert found["url"].startswith("https://api.twilio.com/2010-04-01/Accounts/")
    assert found["body_template"] == "To={to}&From={from}&Body={text}"
    assert (found["method"], found["content_type"], found["auth"]) == ("POST", "form",
                                                                         "basic")
    assert found["password_set"] is True and "password" not in found
    assert SECRET not in json.dumps(stored(api, "sms")) and SECRET not in audit_text(api)


def test_verification_policy(api: Api) -> None:
    assert get(api, "verification", "vera") == {"code_minutes": 10, "max_attempts": 5,
                                                "resend_seconds": 60}
    answer = put(api, "verification", {"code_minutes": 15, "resend_seconds": 30})
    assert answer.json == {"code_minutes": 15, "max_attempts": 5, "resend_seconds": 30}
    bad = put(api, "verification", {"max_attempts": 0, "code_minutes": 5})
    assert bad.status_code == 422 and list(bad.json["errors"]) == ["max_attempts"]
    assert get(api, "verification")["code_minutes"] == 15
    typed = put(api, "verification", {"resend_seconds": "soon"})
    assert typed.status_code == 422 and "resend_seconds" in typed.json["errors"]


def test_test_email_sent_now_and_logged(api: Api) -> None:
    with smtp_server() as inbox:
        put(api, "smtp", {"host": "127.0.0.1", "port": inbox.port,
                          "from_address": "noc@switch.test"})
        answer = api.client.post(f"{BASE}/smtp/test", headers=api.auth(),
                                 json={"to": "ops@example.com"})
        assert answer.status_code == 200, answer.json
        assert answer.json["sent"] is True and answer.json["error"] == ""
        [message] = inbox.messages  # synchronous: already there
    assert message["To"] == "ops@example.com" and message["From"] == "noc@switch.test"
    assert message["Subject"] == "Test email from the switch"
    assert "email delivery works" in body_text(message)
    with api.sessions() as session:
        row = session.get(Message, answer.json["message_id"])
        assert row is not None
        assert (row.purpose, row.status, row.attempts, row.created_by) == ("test", "sent", 1,
                                                                           "alice")


def test_test_email_reports_the_exact_error_and_logs_the_failure(api: Api) -> None:
    port = free_port()  # nothing listens there
    put(api, "smtp", {"host": "127.0.0.1", "port": port})
    answer = api.client.post(f"{BASE}/smtp/test", headers=api.auth(),
                             json={"to": "ops@example.com"})
    assert answer.status_code == 200 and answer.json["sent"] is False
    assert answer.json["error"].startswith(f"connection refused by 127.0.0.1:{port}")
    with api.sessions() as session:
        row = session.get(Message, answer.json["message_id"])
        assert row is not None and row.status == "failed"
        assert row.last_error == answer.json["error"]


def test_test_needs_a_valid_recipient_and_a_configured_channel(api: Api) -> None:
    bad = api.client.post(f"{BASE}/smtp/test", headers=api.auth(), json={"to": "nobody"})
    assert bad.status_code == 422 and "to" in bad.json["errors"]
    bad = api.client.post(f"{BASE}/sms/test", headers=api.auth(), json={"to": "12345"})
    assert bad.status_code == 422 and "E.164" in bad.json["errors"]["to"][0]
    off = api.client.post(f"{BASE}/sms/test", headers=api.auth(),
                          json={"to": "+447400123456"})
    assert off.json["sent"] is False and "not configured" in off.json["error"]


def test_test_sms_through_the_gateway_and_its_error_answer(api: Api) -> None:
    with sms_gateway() as gateway:
        put(api, "sms", {"url": gateway.url + "/send", "sender": "Switch"})
        answer = api.client.post(f"{BASE}/sms/test", headers=api.auth(),
                                 json={"to": "+447400123456"})
        assert answer.json["sent"] is True, answer.json
        [request] = gateway.requests
        form = parse_qs(request.body.decode())
        assert form["to"] == ["+447400123456"] and form["from"] == ["Switch"]
        assert form["text"] == ["Test SMS from the switch: SMS delivery works."]
        gateway.status, gateway.answer = 500, '{"error": "no credit left"}'
        failed = api.client.post(f"{BASE}/sms/test", headers=api.auth(),
                                 json={"to": "+447400123456"})
    assert failed.json["sent"] is False
    assert failed.json["error"] == 'gateway answered HTTP 500: {"error": "no credit left"}'
