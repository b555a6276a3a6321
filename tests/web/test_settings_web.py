"""The Settings page in real Chromium: admins only; the Email, SMS and Verification
forms with inline errors that save nothing; write-only passwords (kept when left empty,
removed with the box); the Twilio button; and the test buttons against a real SMTP
server (aiosmtpd) and HTTP gateway, their result shown at once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Page, expect

from orchestrator.notify.models import Message, StoredSettings
from orchestrator.users.service import create_user
from tests.support import dataplane
from tests.support.mail import sms_gateway, smtp_server
from tests.support.ports import free_port
from tests.web.conftest import _serve
from tests.web.helpers import WebApp, log_in

pytestmark = pytest.mark.web
SECRET = "web-Secret-42"


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    """A web admin of its own: these tests change its delivery settings."""
    yield from _serve(dataplane.test_settings(tmp_path_factory.mktemp("web-settings")))


def stored(web: WebApp, name: str) -> dict[str, Any] | None:
    with web.sessions() as session:
        row = session.get(StoredSettings, name)
        return dict(row.value) if row is not None else None


def flash(page: Page) -> str:
    return page.locator(".flash").first.inner_text()


def test_only_admins_see_and_reach_settings(page: Page, own: WebApp) -> None:
    with own.sessions.begin() as session:
        create_user(session, "olga", own.password, "operator")
    log_in(page, own, "olga")
    expect(page.get_by_role("link", name="Messages", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Settings", exact=True)).to_have_count(0)
    answer = page.goto(own.url("/settings/email"))
    assert answer is not None and answer.status == 403
    expect(page.locator("body")).to_contain_text("may not change the delivery settings")


def test_email_form_saves_keeps_and_clears_the_password(page: Page, own: WebApp) -> None:
    log_in(page, own)
    page.get_by_role("link", name="Settings", exact=True).click()
    expect(page).to_have_url(own.url("/settings/email"))
    page.get_by_label("Host").fill("mail.example.com")
    page.get_by_label("Port").fill("587")
    page.get_by_label("Security").select_option("starttls")
    page.get_by_label("Username").fill("switch")
    page.get_by_label("Password", exact=False).first.fill(SECRET)
    page.get_by_label("From address").fill("Switch <noc@example.com>")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_have_text("Settings saved.")
    expect(page.get_by_test_id("password-state")).to_have_text("set")
    expect(page.locator("#f-password")).to_have_value("")
    raw = json.dumps(stored(own, "smtp"))
    assert SECRET not in raw and '"host": "mail.example.com"' in raw
    assert SECRET not in page.content()
    # saving again with the password left empty keeps it
    page.get_by_label("Port").fill("2525")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("password-state")).to_have_text("set")
    assert (stored(own, "smtp") or {})["port"] == 2525
    # the box clears it
    page.get_by_test_id("password-clear").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("password-state")).to_have_text("not set")


def test_bad_email_fields_are_shown_inline_and_nothing_is_saved(page: Page,
                                                                own: WebApp) -> None:
    log_in(page, own)
    page.goto(own.url("/settings/email"))
    page.get_by_label("Host").fill("mail.example.com")
    page.get_by_role("button", name="Save").click()
    before = stored(own, "smtp")
    page.get_by_label("Host").fill("bad host!")
    page.get_by_label("Port").fill("0")
    page.get_by_label("From address").fill("nobody")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert").first).to_contain_text("Nothing was saved")
    expect(page.locator('[data-error-for="host"]')).to_contain_text("host name or IP")
    expect(page.locator('[data-error-for="port"]')).to_have_text("must be between 1 and 65535")
    expect(page.locator('[data-error-for="from_address"]')).to_contain_text("email address")
    expect(page.get_by_label("Host")).to_have_value("bad host!")  # what was typed stays
    assert stored(own, "smtp") == before


def test_test_email_button_shows_success_and_the_exact_error(page: Page,
                                                             own: WebApp) -> None:
    log_in(page, own)
    with smtp_server() as inbox:
        page.goto(own.url("/settings/email"))
        page.get_by_label("Host").fill("127.0.0.1")
        page.get_by_label("Port").fill(str(inbox.port))
        page.get_by_label("Security").select_option("none")
        page.get_by_label("Username").fill("")
        page.get_by_label("From address").fill("noc@switch.test")
        page.get_by_role("button", name="Save").click()
        expect(page.locator(".flash")).to_have_text("Settings saved.")
        page.get_by_test_id("test-form").get_by_label("To").fill("ops@acme.example")
        page.get_by_role("button", name="Send test email").click()
        expect(page.locator(".flash")).to_have_text("Test email sent to ops@acme.example.")
        assert [m["To"] for m in inbox.messages] == ["ops@acme.example"]
    down = free_port()
    page.get_by_label("Port").fill(str(down))
    page.get_by_role("button", name="Save").click()
    page.get_by_test_id("test-form").get_by_label("To").fill("ops@acme.example")
    page.get_by_role("button", name="Send test email").click()
    expect(page.locator(".flash-error")).to_have_text(
        f"Test email to ops@acme.example failed: connection refused by 127.0.0.1:{down} "
        "(is the SMTP server running on that port?)")
    with own.sessions() as session:
        tests = session.query(Message).filter_by(purpose="test", channel="email").all()
        assert sorted(m.status for m in tests) == ["failed", "sent"]


def test_twilio_button_fills_the_form_and_the_test_sms_goes_out(page: Page,
                                                                own: WebApp) -> None:
    log_in(page, own)
    page.goto(own.url("/settings/sms"))
    page.get_by_test_id("fill-twilio").click()
    expect(page.locator(".flash")).to_contain_text("Twilio preset filled in")
    expect(page.locator("#f-url")).to_have_value(
        "https://api.twilio.com/2010-04-01/Accounts/YOUR_ACCOUNT_SID/Messages.json")
    expect(page.locator("#f-body_template")).to_have_value("To={to}&From={from}&Body={text}")
    expect(page.locator("#f-auth")).to_have_value("basic")
    assert stored(own, "sms") is None  # filled, not saved
    # basic auth without a username: refused inline
    page.get_by_role("button", name="Save").click()
    expect(page.locator('[data-error-for="username"]')).to_have_text(
        "is required with basic auth")
    assert stored(own, "sms") is None
    with sms_gateway() as gateway:
        page.locator("#f-url").fill(gateway.url + "/2010-04-01/Accounts/AC9/Messages.json")
        page.locator("#f-username").fill("AC9")
        page.locator("#f-password").fill("auth-token")
        page.locator("#f-sender").fill("+15005550006")
        page.get_by_role("button", name="Save").click()
        expect(page.locator(".flash")).to_have_text("Settings saved.")
        page.get_by_test_id("test-form").get_by_label("To").fill("+447400123456")
        page.get_by_role("button", name="Send test SMS").click()
        expect(page.locator(".flash")).to_have_text("Test SMS sent to +447400123456.")
        [request] = gateway.requests
        form = parse_qs(request.body.decode())
        assert form["To"] == ["+447400123456"] and form["From"] == ["+15005550006"]
        gateway.status, gateway.answer = 401, '{"message": "Authenticate"}'
        page.get_by_test_id("test-form").get_by_label("To").fill("+447400123456")
        page.get_by_role("button", name="Send test SMS").click()
        expect(page.locator(".flash-error")).to_have_text(
            'Test SMS to +447400123456 failed: gateway answered HTTP 401: '
            '{"message": "Authenticate"}')
    page.get_by_test_id("test-form").get_by_label("To").fill("07700")
    page.get_by_role("button", name="Send test SMS").click()
    expect(page.locator(".flash-error")).to_contain_text("No test sent: must be an E.164")


def test_verification_form(page: Page, own: WebApp) -> None:
    log_in(page, own)
    page.goto(own.url("/settings/verification"))
    expect(page.get_by_label("Code valid for")).to_have_value("10")
    page.get_by_label("Attempts per code").fill("3")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_have_text("Settings saved.")
    expect(page.get_by_label("Attempts per code")).to_have_value("3")
    page.get_by_label("Resend wait").fill("-1")
    page.get_by_role("button", name="Save").click()
    expect(page.locator('[data-error-for="resend_seconds"]')).to_have_text(
        "must be between 0 and 3600")
    assert (stored(own, "verification") or {})["resend_seconds"] == 60
