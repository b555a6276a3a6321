"""The Bans page in real Chromium, against the session data plane's real Kamailio.

A ban is what route[ABUSE] writes (templates/kamailio/abuse.cfg.j2): an entry of the
htable ``ban``, key = address, value = unix time it ends; the test writes one over
JSON-RPC instead of flooding the session data plane (flooding itself is tested in
tests/integration/routing/test_abuse.py).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from orchestrator.kamailio import KamailioRPC, htable
from tests.web.helpers import WebApp, log_in
from tests.web.test_external_card_upload import VIEWER, VIEWER_PASSWORD, add_viewer

pytestmark = pytest.mark.web

_hosts = itertools.count(10)


@pytest.fixture
def banned(web: WebApp) -> Iterator[str]:
    """An address (TEST-NET-1) banned on the local node for 5 more minutes."""
    ip = f"192.0.2.{next(_hosts)}"
    rpc = KamailioRPC(web.settings.rpc_url)
    htable.seti(rpc, "ban", ip, int(time.time()) + 300)
    yield ip
    htable.delete(rpc, "ban", ip)


def test_a_ban_is_listed_and_lifted_after_confirmation(page: Page, web: WebApp,
                                                       banned: str) -> None:
    rpc = KamailioRPC(web.settings.rpc_url)
    log_in(page, web)
    page.goto(web.url("/switch"))
    page.get_by_test_id("bans-link").click()
    expect(page.get_by_role("heading", name="Bans", exact=True)).to_be_visible()
    expect(page.get_by_test_id("ban-rules")).to_contain_text(
        f"is banned for {web.settings.ban_seconds} s")
    row = page.locator(f"tr[data-ip='{banned}']")
    expect(row).to_contain_text("local")
    expect(row.get_by_test_id("ban-remaining")).to_contain_text(" min ")

    # Cancel leaves the ban alone
    row.get_by_role("link", name="Lift").click()
    expect(page.get_by_test_id("confirm")).to_contain_text(f"Lift the ban of {banned}?")
    expect(page.get_by_test_id("confirm")).to_contain_text("banned on local")
    page.get_by_role("link", name="Cancel").click()
    expect(page.locator(f"tr[data-ip='{banned}']")).to_have_count(1)
    assert htable.get(rpc, "ban", banned) is not None

    page.locator(f"tr[data-ip='{banned}']").get_by_role("link", name="Lift").click()
    page.get_by_test_id("confirm-button").click()
    expect(page.get_by_role("status")).to_contain_text(f"The ban of {banned} is lifted on local")
    expect(page.locator(f"tr[data-ip='{banned}']")).to_have_count(0)
    assert htable.get(rpc, "ban", banned) is None


def test_no_bans_shows_what_gets_banned(page: Page, web: WebApp) -> None:
    log_in(page, web)
    page.goto(web.url("/switch/bans"))
    empty = page.get_by_test_id("no-bans")
    expect(empty).to_contain_text("No address is banned")
    expect(empty).to_contain_text(f"ends by itself after {web.settings.ban_seconds} s")
    expect(page.get_by_test_id("ban-rules")).to_contain_text("friendly-scanner")


def test_a_bad_address_is_refused_with_the_reason(page: Page, web: WebApp) -> None:
    log_in(page, web)
    page.goto(web.url("/switch/bans/lift?ip=999.1.1.1"))
    expect(page).to_have_url(web.url("/switch/bans"))
    expect(page.get_by_role("status")).to_contain_text("'999.1.1.1' is not an IP address")


def test_a_viewer_sees_bans_but_cannot_lift(page: Page, web: WebApp, banned: str) -> None:
    add_viewer(web)
    log_in(page, web, VIEWER, VIEWER_PASSWORD)
    page.goto(web.url("/switch/bans"))
    expect(page.locator(f"tr[data-ip='{banned}']")).to_have_count(1)
    expect(page.get_by_test_id("lift")).to_have_count(0)
    answer = page.goto(web.url(f"/switch/bans/lift?ip={banned}"))
    assert answer is not None and answer.status == 403


def test_a_node_that_cannot_be_read_is_named(page: Page, web_down: WebApp) -> None:
    log_in(page, web_down)
    page.goto(web_down.url("/switch/bans"))
    expect(page.get_by_test_id("ban-node-error")).to_contain_text("Node local")
    expect(page.get_by_test_id("ban-node-error")).to_contain_text("connection refused")
    expect(page.get_by_test_id("no-bans")).to_contain_text("on the nodes that answered")
