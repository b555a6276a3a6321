"""The Routing explain page in real Chromium, signed in as a viewer: the nav link, the
"apply first" message, a routed call with its candidates and drop reasons, a refusal,
and field errors. The serving snapshot is the hand-built sample
(tests/unit/routing/test_explain_sample.py), patched in for this process's web server
so that the session-wide app's switch files stay untouched."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from orchestrator.routing import explain_index
from orchestrator.users.models import AdminUser
from orchestrator.users.service import create_user
from tests.unit.routing.test_explain_sample import sample_snapshot, sample_trees
from tests.web.helpers import WebApp, log_in

pytestmark = pytest.mark.web

VIEWER = "explain-viewer"
VIEWER_PASSWORD = "viewer password 654"
UK = "447700900123"


@pytest.fixture
def applied(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    trees = sample_trees()
    monkeypatch.setattr(explain_index, "serving_version", lambda settings: None)
    monkeypatch.setattr(explain_index, "load_snapshot", lambda settings: sample_snapshot())
    monkeypatch.setattr(explain_index, "tariffs_of",
                        lambda settings: lambda tree: trees.get(tree, {}))
    yield


def viewer(page: Page, web: WebApp) -> None:
    with web.sessions.begin() as session:
        if session.scalar(select(AdminUser).where(AdminUser.username == VIEWER)) is None:
            create_user(session, VIEWER, VIEWER_PASSWORD, role="viewer")
    log_in(page, web, VIEWER, VIEWER_PASSWORD)


def ask(page: Page, source_ip: str, dialled: str, port: str = "") -> None:
    page.get_by_label("Source IP").fill(source_ip)
    page.get_by_label("Source port").fill(port)
    page.get_by_label("Dialled number").fill(dialled)
    page.get_by_role("button", name="Explain").click()


def test_before_any_apply_the_page_says_apply_first(
        page: Page, web_down: WebApp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(explain_index, "serving_version", lambda settings: None)
    monkeypatch.setattr(explain_index, "load_snapshot", lambda settings: None)
    viewer(page, web_down)
    page.get_by_role("link", name="Routing explain").click()
    expect(page.get_by_role("heading", name="Routing explain")).to_be_visible()
    ask(page, "192.0.2.10", UK)
    expect(page.get_by_test_id("explain-problem")).to_have_text(
        "nothing has been applied to the switch yet: apply first")


def test_a_routed_call_its_candidates_and_a_refusal(page: Page, web_down: WebApp,
                                                     applied: None) -> None:
    viewer(page, web_down)
    page.goto(web_down.url("/routing/explain"))
    ask(page, "192.0.2.10", "991" + UK, port="5060")
    expect(page.get_by_test_id("verdict")).to_have_text("ok")
    expect(page.get_by_test_id("customer")).to_have_text("1 (Alpha)")
    expect(page.get_by_test_id("number")).to_have_text(UK)
    expect(page.get_by_test_id("sell-rate")).to_have_text("0.02 EUR/min")
    expect(page.get_by_test_id("order")).to_have_text("1")
    rows = page.get_by_test_id("candidates").locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("tr[data-card='2'] [data-col='dropped']")).to_have_text(
        "not in the route's locked cards")
    expect(page.locator("tr[data-card='3'] [data-col='dropped']")).to_have_text(
        "costs more than the sell rate")
    expect(page.locator("tr[data-card='1'] [data-col='dropped']")).to_have_text("kept")
    expect(page.get_by_test_id("notes")).to_contain_text("limits checked live")

    ask(page, "10.0.0.1", UK)
    expect(page.get_by_test_id("verdict")).to_have_text("403 IP Not Authorised")
    expect(page.get_by_test_id("notes")).to_contain_text("5060 assumed")
    expect(page.get_by_label("Source IP")).to_have_value("10.0.0.1")


def test_bad_fields_are_marked(page: Page, web_down: WebApp, applied: None) -> None:
    viewer(page, web_down)
    page.goto(web_down.url("/routing/explain"))
    ask(page, "192.0.2.999", "44x", port="99999")
    expect(page.locator("[data-error-for='source_ip']")).to_contain_text("IPv4 or IPv6")
    expect(page.locator("[data-error-for='dialled']")).to_contain_text("1-32 digits")
    expect(page.locator("[data-error-for='source_port']")).to_contain_text("1-65535")
    expect(page.get_by_test_id("explain-result")).to_have_count(0)
