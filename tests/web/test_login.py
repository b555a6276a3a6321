"""Signing in and out of the web admin, in a real headless Chromium and over HTTP."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.web.helpers import WebApp, csrf_token, sign_in

pytestmark = pytest.mark.web


def browser_sign_in(page: Page, web: WebApp, password: str | None = None,
                    path: str = "/login") -> None:
    page.goto(web.url(path))
    page.get_by_label("Username").fill(web.username)
    page.get_by_label("Password").fill(web.password if password is None else password)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_shows_kamailio_and_rtpengine_up(page: Page, web: WebApp) -> None:
    browser_sign_in(page, web)
    expect(page).to_have_url(web.url("/"))
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator(".usermenu")).to_contain_text(web.username)
    kamailio = page.locator("[data-daemon='kamailio']")
    rtpengine = page.locator("[data-daemon='rtpengine']")
    for card in (kamailio, rtpengine):
        expect(card).to_have_attribute("data-state", "up")
        expect(card.locator("[data-field='status']")).to_have_text("Up")
        expect(card.locator("[data-role='problem']")).to_be_hidden()
        expect(card.locator("[data-field='active_calls']")).to_have_text(re.compile(r"^\d+$"))
        expect(card.locator("[data-field='uptime_human']")).to_have_text(
            re.compile(r"^\d+ (s|min|h|d)"))
    expect(kamailio.locator("[data-field='version']")).to_contain_text("5.6")
    expect(rtpengine.locator("[data-field='version']")).to_have_text(re.compile(r"\d+\.\d+"))

    # The static script (the CSP forbids inline ones) refreshes the cards from JSON.
    checked = page.locator("[data-field='checked_at']")
    first = checked.inner_text()
    expect(checked).not_to_have_text(first, timeout=8_000)
    expect(kamailio).to_have_attribute("data-state", "up")
    expect(page.locator("[data-role='stale']")).to_be_hidden()


def test_wrong_password_is_refused_without_a_session(page: Page, web: WebApp) -> None:
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        browser_sign_in(page, web, password="not the password")
    assert answer.value.status == 401
    error = page.get_by_test_id("login-error")
    expect(error).to_have_text("Invalid username or password.")
    expect(page.get_by_label("Password")).to_have_value("")

    page.goto(web.url("/"))
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))

    # An unknown username gets exactly the same answer.
    page.get_by_label("Username").fill("nobody-here")
    page.get_by_label("Password").fill(web.password)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 401
    expect(error).to_have_text("Invalid username or password.")


def test_sign_out_ends_the_session(page: Page, web: WebApp) -> None:
    browser_sign_in(page, web)
    expect(page).to_have_url(web.url("/"))
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(web.url("/login"))
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    page.goto(web.url("/"))
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_open_redirect_in_next_ends_on_a_local_page(page: Page, web: WebApp) -> None:
    browser_sign_in(page, web, path="/login?next=http://evil.example/")
    expect(page).to_have_url(web.url("/"))
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


@pytest.mark.parametrize("target", [
    "http://evil.example/", "//evil.example/", "/\\evil.example/", "https:evil.example",
    "javascript:alert(1)", "evil.example",
])
def test_next_never_leaves_the_site(web: WebApp, target: str) -> None:
    _, answer = sign_in(web, next_=target)
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/"


def test_next_keeps_a_local_path(web: WebApp) -> None:
    _, answer = sign_in(web, next_="/health.json?x=1")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/health.json?x=1"


def test_login_post_without_csrf_token_is_refused(web: WebApp) -> None:
    client = requests.Session()
    assert client.get(web.url("/login"), timeout=10).status_code == 200
    answer = client.post(web.url("/login"), allow_redirects=False, timeout=10,
                         data={"username": web.username, "password": web.password})
    assert answer.status_code == 400
    assert "Form not accepted" in answer.text
    assert "CSRF token is missing" in answer.text
    assert "Traceback" not in answer.text
    home = client.get(web.url("/"), allow_redirects=False, timeout=10)
    assert home.status_code == 302
    assert home.headers["Location"].startswith("/login")


def test_csrf_token_of_another_session_is_refused(web: WebApp) -> None:
    victim, attacker = requests.Session(), requests.Session()
    victim.get(web.url("/login"), timeout=10)
    stolen = csrf_token(attacker.get(web.url("/login"), timeout=10).text)
    answer = victim.post(web.url("/login"), allow_redirects=False, timeout=10,
                         data={"csrf_token": stolen, "username": web.username,
                               "password": web.password})
    assert answer.status_code == 400
    assert "The CSRF tokens do not match." in answer.text
    assert victim.get(web.url("/"), allow_redirects=False, timeout=10).status_code == 302


def test_logout_needs_post_with_csrf_token(web: WebApp) -> None:
    client, answer = sign_in(web)
    assert answer.status_code == 302
    assert client.get(web.url("/logout"), timeout=10).status_code == 405
    assert client.post(web.url("/logout"), timeout=10).status_code == 400
    assert client.get(web.url("/"), allow_redirects=False, timeout=10).status_code == 200


def test_anonymous_users_are_sent_to_sign_in(web: WebApp) -> None:
    home = requests.get(web.url("/"), allow_redirects=False, timeout=10)
    assert home.status_code == 302
    assert home.headers["Location"] == "/login?next=/"
    data = requests.get(web.url("/health.json"), allow_redirects=False, timeout=10)
    assert data.status_code == 401
    assert data.json() == {"error": "not signed in"}
    account = requests.get(web.url("/account/password"), allow_redirects=False, timeout=10)
    assert account.status_code == 302
    assert account.headers["Location"] == "/login?next=/account/password"
