"""The dashboard of a switch whose daemons are down, and its JSON."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.web.helpers import WebApp, sign_in
from webui.health_cards import human_duration

pytestmark = pytest.mark.web


def test_dashboard_says_why_each_daemon_is_down(page: Page, web_down: WebApp) -> None:
    settings = web_down.settings
    page.goto(web_down.url("/"))
    page.get_by_label("Username").fill(web_down.username)
    page.get_by_label("Password").fill(web_down.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(web_down.url("/"))

    kamailio = page.locator("[data-daemon='kamailio']")
    rtpengine = page.locator("[data-daemon='rtpengine']")
    for card in (kamailio, rtpengine):
        expect(card).to_have_attribute("data-state", "down")
        expect(card.locator("[data-field='status']")).to_have_text("Down")
        expect(card.locator("[data-field='version']")).to_have_text("—")
        expect(card.locator("[data-role='problem']")).to_contain_text(
            "Is the switch running? Check with orchestrator stack status.")
    expect(kamailio.locator("[data-field='problem']")).to_contain_text(
        f"Kamailio is not answering on JSON-RPC at http://127.0.0.1:{settings.rpc_port}/RPC: ")
    expect(rtpengine.locator("[data-field='problem']")).to_contain_text(
        f"rtpengine is not answering on ng at udp://127.0.0.1:{settings.rtpengine_ng_port}: ")

    # After the script's refresh the cards still say why.
    checked = page.locator("[data-field='checked_at']")
    first = checked.inner_text()
    expect(checked).not_to_have_text(first, timeout=8_000)
    expect(kamailio).to_have_attribute("data-state", "down")
    expect(kamailio.locator("[data-field='problem']")).to_contain_text(
        "Kamailio is not answering on JSON-RPC")


def test_health_json_reports_both_down_with_the_reason(web_down: WebApp) -> None:
    client, answer = sign_in(web_down)
    assert answer.status_code == 302
    data = client.get(web_down.url("/health.json"), timeout=10).json()
    assert data["all_up"] is False
    assert re.fullmatch(r"\d\d:\d\d:\d\d UTC", data["checked_at"])
    for name in ("kamailio", "rtpengine"):
        daemon = data[name]
        assert daemon["name"] == name
        assert daemon["up"] is False
        assert daemon["version"] is None
        assert daemon["error"], "a down daemon must say why"
        assert daemon["problem"].endswith(daemon["error"])
    assert data["kamailio"]["control"] == f"JSON-RPC at {web_down.settings.rpc_url}"


def test_health_json_of_the_running_switch(web: WebApp) -> None:
    client, answer = sign_in(web)
    assert answer.status_code == 302
    response = client.get(web.url("/health.json"), timeout=10)
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    data = response.json()
    assert data["all_up"] is True
    assert "5.6" in data["kamailio"]["version"]
    assert data["rtpengine"]["version"]
    for name in ("kamailio", "rtpengine"):
        assert data[name]["problem"] is None
        assert isinstance(data[name]["active_calls"], int)
        assert data[name]["uptime_human"] == human_duration(data[name]["uptime_seconds"])


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "—"), (0, "0 s"), (59, "59 s"), (60, "1 min"), (3599, "59 min"),
    (3600, "1 h"), (11_520, "3 h 12 min"), (86_400, "1 d"), (187_200, "2 d 4 h"),
])
def test_uptime_in_human_form(seconds: int | None, text: str) -> None:
    assert human_duration(seconds) == text


def test_pages_carry_security_headers(web_down: WebApp) -> None:
    answer = requests.get(web_down.url("/login"), timeout=10)
    csp = answer.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in answer.text  # nothing inline: the CSP would block it
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("orchestrator_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_session_cookie_of_a_signed_in_user_expires(web_down: WebApp) -> None:
    _, answer = sign_in(web_down)
    cookie = answer.headers["Set-Cookie"]
    assert "Expires=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
