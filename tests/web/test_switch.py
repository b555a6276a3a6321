"""The Switch page and the pending-changes banner in real Chromium.

A private web admin (its own database and switch files, nothing on the Kamailio
port) and an in-process job worker. A successful apply is simulated at the node level
(tests/unit/switch/test_service.py ``fake_apply``); the failed apply is the real one
against the Kamailio port where nothing answers.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from orchestrator.compile.compiler import compile_snapshot
from orchestrator.customers import service as customers
from orchestrator.jobs import queue as jobqueue
from orchestrator.switch import apply
from tests.support.dataplane import test_settings as private_settings
from tests.support.jobs import running_consumer
from tests.unit.ratecards.cards_support import ADMIN
from tests.unit.switch import test_service
from tests.web.conftest import _serve
from tests.web.helpers import WebApp, log_in
from tests.web.test_external_card_upload import VIEWER, VIEWER_PASSWORD, add_viewer

pytestmark = pytest.mark.web

BANNER = "The model has changes that are not on the switch yet"
_names = itertools.count(1)
switch_ok = test_service.switch_ok


@pytest.fixture(scope="module")
def switch_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    yield from _serve(private_settings(tmp_path_factory.mktemp("web-switch")))


@pytest.fixture
def worker(switch_web: WebApp) -> Iterator[None]:
    jobqueue.load_task_modules()
    with running_consumer(jobqueue.configure(switch_web.settings)):
        yield
    jobqueue.reset()


def change_model(web: WebApp) -> None:
    """A new customer: the compiled snapshot changes."""
    with web.sessions.begin() as session:
        customers.create_customer(session, ADMIN, {"name": f"Switch test {next(_names)}",
                                                   "currency": "USD"})


def applied(web: WebApp) -> None:
    """The switch serves the model as it is now."""
    with web.sessions() as session:
        snap = compile_snapshot(session, web.settings)
    report = apply.apply_local(web.settings, snap, lambda ref: [], who="test")
    assert report.ok


def job_page(page: Page, web: WebApp, title: str) -> None:
    expect(page).to_have_url(re.compile(re.escape(web.url("/jobs/")) + r"\d+"))
    expect(page.get_by_role("heading", name=title)).to_be_visible()


def test_the_banner_shows_after_a_change_and_apply_then_rollback_run_as_jobs(
        page: Page, switch_web: WebApp, worker: None, switch_ok: None) -> None:
    web = switch_web
    applied(web)
    log_in(page, web)
    page.goto(web.url("/customers"))
    expect(page.get_by_test_id("pending-banner")).to_have_count(0)

    change_model(web)
    page.reload()
    banner = page.get_by_test_id("pending-banner")
    expect(banner).to_contain_text(BANNER)
    expect(banner.get_by_role("button", name="Apply now")).to_be_visible()
    banner.get_by_role("link", name="Review").click()

    expect(page.get_by_role("heading", name="Switch", exact=True)).to_be_visible()
    expect(page.get_by_test_id("pending-banner")).to_have_count(0)  # the page's own
    expect(page.get_by_test_id("switch-pending")).to_contain_text(BANNER)
    expect(page.get_by_test_id("node-health")).to_have_text("Down")
    expect(page.get_by_test_id("history").locator("tbody tr")).to_have_count(1)
    page.get_by_role("button", name="Apply to the switch").click()

    job_page(page, web, "Apply to the switch")
    expect(page.get_by_test_id("job-state")).to_have_text("done")
    page.get_by_role("link", name="Back to the switch").click()
    expect(page.get_by_test_id("switch-in-sync")).to_be_visible()
    rows = page.get_by_test_id("history").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("serving")

    page.get_by_test_id("rollback").click()
    expect(page.get_by_role("heading", name="Roll back the switch?")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/switch/rollback\?version="))
    page.get_by_test_id("confirm-button").click()
    job_page(page, web, "Rollback of the switch")
    expect(page.get_by_test_id("job-state")).to_have_text("done")
    page.goto(web.url("/switch"))
    expect(page.get_by_test_id("switch-pending")).to_contain_text(BANNER)
    expect(page.get_by_test_id("history").locator("tbody tr").first).to_contain_text(
        "rollback")


def test_a_viewer_sees_the_banner_but_no_apply_or_rollback_button(
        page: Page, switch_web: WebApp) -> None:
    web = switch_web
    add_viewer(web)
    change_model(web)
    log_in(page, web, VIEWER, VIEWER_PASSWORD)
    page.goto(web.url("/customers"))
    expect(page.get_by_test_id("pending-banner")).to_contain_text(BANNER)
    expect(page.get_by_test_id("pending-apply")).to_have_count(0)
    page.get_by_role("link", name="Switch", exact=True).click()
    expect(page.get_by_test_id("switch-pending")).to_contain_text(BANNER)
    expect(page.get_by_test_id("apply")).to_have_count(0)
    expect(page.get_by_test_id("rollback")).to_have_count(0)
    expect(page.locator("form[method='post']:not([action$='/logout'])")).to_have_count(0)


def test_a_failed_apply_shows_that_calls_keep_flowing(page: Page, switch_web: WebApp,
                                                      worker: None) -> None:
    web = switch_web
    change_model(web)
    log_in(page, web)
    page.goto(web.url("/switch"))
    page.get_by_role("button", name="Apply to the switch").click()
    job_page(page, web, "Apply to the switch")
    expect(page.get_by_test_id("job-state")).to_have_text("failed")
    failed = page.get_by_test_id("job-failed")
    expect(failed).to_contain_text("Calls keep flowing on the snapshot that served before")
    expect(failed).to_contain_text("not applied on local")
    expect(failed).to_contain_text("is still serving")
