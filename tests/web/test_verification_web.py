"""Verification in the web admin (real Chromium): the notification bell, the account
page, and a customer's verification panel; codes arrive at a real SMTP server
(aiosmtpd) through the real job worker."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from orchestrator.actor import Actor
from orchestrator.customers import service
from orchestrator.notify import config
from orchestrator.users.service import create_user
from orchestrator.verification.models import VerificationCode
from tests.support.mail import Inbox, body_text, sms_gateway, smtp_server
from tests.web.helpers import WebApp, csrf_token, log_in, sign_in

pytestmark = pytest.mark.web
ADMIN = Actor(None, "test", "admin")
PASSWORD = "a long enough password"


@pytest.fixture
def inbox(web_down: WebApp, jobs_worker: object) -> Iterator[Inbox]:
    with smtp_server() as server:
        with web_down.sessions.begin() as session:
            config.update_smtp(session, ADMIN, web_down.settings,
                               {"host": "127.0.0.1", "port": server.port})
            config.update_verification(session, ADMIN, {"resend_seconds": 0})
        yield server
        with web_down.sessions.begin() as session:  # the app is shared by other tests
            config.update_smtp(session, ADMIN, web_down.settings, {"host": ""})
            config.update_verification(session, ADMIN, {"resend_seconds": 60})


def code_in(inbox: Inbox, count: int) -> str:
    messages = inbox.wait(count)
    assert len(messages) == count
    match = re.search(r"\b(\d{6})\b", body_text(messages[-1]))
    assert match
    return match.group(1)


def test_verify_your_email_from_the_notification_menu(page: Page, web_down: WebApp,
                                                       inbox: Inbox) -> None:
    web_down.add_user("nora", PASSWORD)
    log_in(page, web_down, "nora", PASSWORD)
    menu = page.get_by_test_id("notify-menu")
    expect(menu.get_by_test_id("notify-count")).to_be_visible()
    menu.locator("summary").click()
    expect(menu.get_by_test_id("notify-verify-mobile")).to_have_text("Verify your mobile")
    menu.get_by_test_id("notify-verify-email").click()
    expect(page).to_have_url(re.compile(r"/account#verify-email$"))
    email_box = page.get_by_test_id("verify-email")
    expect(email_box).to_contain_text("not set: add it above and save")

    page.get_by_role("textbox", name="Email").fill("nora@switch.test")
    page.get_by_role("textbox", name="Mobile").fill("+1 555 0100")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("[data-error-for='mobile']")).to_have_text(
        "+1 555 0100 is not a valid phone number: check the country code and the number "
        "of digits, e.g. +447400123456")
    expect(email_box).to_contain_text("not set: add it above and save")  # nothing saved
    page.get_by_role("textbox", name="Mobile").fill("")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Your email and mobile are saved")
    email_box.get_by_role("button", name="Send verification code").click()
    expect(page.get_by_role("status")).to_contain_text(
        "A verification code is on its way to nora@switch.test by email")
    code = code_in(inbox, 1)
    assert inbox.messages[0]["To"] == "nora@switch.test"
    expect(email_box.get_by_test_id("verify-email-pending")).to_contain_text("5 attempts left")
    email_box.get_by_label("Verification code").fill(code)
    email_box.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("status")).to_have_text("nora@switch.test is verified.")
    expect(email_box.get_by_test_id("verify-email-state")).to_have_text("verified")

    page.get_by_test_id("notify-menu").locator("summary").click()
    menu = page.get_by_test_id("notify-menu")
    expect(menu.get_by_test_id("notify-verify-mobile")).to_be_visible()
    expect(menu.get_by_test_id("notify-verify-email")).to_have_count(0)


def test_customer_panel_wrong_code_right_code_and_reset(page: Page, web_down: WebApp,
                                                        inbox: Inbox) -> None:
    with web_down.sessions.begin() as session:
        cid = service.create_customer(session, ADMIN, {
            "name": "Verify Web Ltd", "currency": "EUR", "email": "noc@verify.example",
            "mobile": "+447400123456", "verification_required": True}).id
    web_down.add_user("vic", PASSWORD)
    log_in(page, web_down, "vic", PASSWORD)
    page.get_by_test_id("notify-menu").locator("summary").click()
    page.get_by_test_id("notify-customers").click()
    page.get_by_test_id("awaiting-table").get_by_role("link", name="Verify Web Ltd").click()
    panel = page.get_by_test_id("verification-panel")
    expect(panel.get_by_test_id("verification-needed")).to_contain_text(
        "403 Verification Required")
    box = panel.get_by_test_id("verify-email")
    box.get_by_role("button", name="Send verification code").click()
    code = code_in(inbox, 1)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    box.get_by_label("Verification code").fill(wrong)
    box.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("status")).to_have_text("Wrong code, 4 attempts left.")
    with web_down.sessions() as session:  # the wrong entry counted
        assert session.scalars(select(VerificationCode.attempts).where(
            VerificationCode.subject_type == "customer",
            VerificationCode.subject_id == cid)).one() == 1
    box.get_by_label("Verification code").fill(code)
    box.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("status")).to_have_text("noc@verify.example is verified.")
    expect(box.get_by_test_id("verify-email-state")).to_have_text("verified")
    expect(panel.get_by_test_id("verify-mobile-state")).to_have_text("not verified")

    panel.get_by_test_id("verification-reset").click()
    expect(page.get_by_label("Mobile +447400123456")).to_be_disabled()
    page.get_by_role("button", name="Reset verification").click()
    expect(page.get_by_role("status")).to_contain_text(
        "The email of Verify Web Ltd must be verified again.")
    expect(page.get_by_test_id("verify-email-state")).to_have_text("not verified")


def test_a_viewer_sees_the_panel_but_cannot_send(web_down: WebApp, inbox: Inbox) -> None:
    with web_down.sessions.begin() as session:
        cid = service.create_customer(session, ADMIN, {
            "name": "Viewer Sees Ltd", "currency": "EUR", "email": "v@view.example",
            "verification_required": True}).id
        create_user(session, "val", PASSWORD, "viewer")
    client, _ = sign_in(web_down, "val", PASSWORD)
    detail = client.get(web_down.url(f"/customers/{cid}"), timeout=10)
    assert detail.status_code == 200
    assert 'data-testid="verification-panel"' in detail.text
    assert "Send verification code" not in detail.text
    answer = client.post(web_down.url(f"/customers/{cid}/verification/email/send"),
                         data={"csrf_token": csrf_token(detail.text)},
                         allow_redirects=False, timeout=10)
    assert answer.status_code == 403
    with web_down.sessions() as session:
        assert session.scalars(select(VerificationCode).where(
            VerificationCode.subject_type == "customer",
            VerificationCode.subject_id == cid)).all() == []


def test_verify_your_mobile_by_sms(page: Page, web_down: WebApp, inbox: Inbox) -> None:
    """The seed guide's Mobile Verification: bell -> Verify your mobile -> enter the
    number in E.164 and save -> Send verification code -> enter the SMS code -> Verify."""
    with sms_gateway() as gateway:
        with web_down.sessions.begin() as session:
            config.update_sms(session, ADMIN, {"url": f"{gateway.url}/send"})
        web_down.add_user("mona", PASSWORD)
        log_in(page, web_down, "mona", PASSWORD)
        page.get_by_test_id("notify-menu").locator("summary").click()
        page.get_by_test_id("notify-verify-mobile").click()
        page.get_by_role("textbox", name="Mobile").fill("+44 7400 654-321")
        page.get_by_role("button", name="Save").click()
        box = page.get_by_test_id("verify-mobile")
        expect(box).to_contain_text("+447400654321")
        box.get_by_role("button", name="Send verification code").click()
        expect(page.get_by_role("status")).to_contain_text("by SMS")
        [request] = gateway.wait(1)
        form = parse_qs(request.body.decode())
        assert form["to"] == ["+447400654321"]
        match = re.search(r"\b(\d{6})\b", form["text"][0])
        assert match
        box.get_by_label("Verification code").fill(match.group(1))
        box.get_by_role("button", name="Verify").click()
        expect(page.get_by_role("status")).to_have_text("+447400654321 is verified.")
        page.get_by_test_id("notify-menu").locator("summary").click()
        expect(page.get_by_test_id("notify-verify-mobile")).to_have_count(0)
        expect(page.get_by_test_id("notify-verify-email")).to_be_visible()
        with web_down.sessions.begin() as session:
            config.update_sms(session, ADMIN, {"url": ""})
