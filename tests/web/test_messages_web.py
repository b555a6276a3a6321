"""The Messages page in real Chromium: the log with status badges, filters, search and
CSV; one message with its text and last error; sending a failed one again (confirmed)
through a real job consumer to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from orchestrator.actor import Actor
from orchestrator.jobs import queue as jobqueue
from orchestrator.notify import config
from orchestrator.notify.models import Message
from orchestrator.users.service import create_user
from tests.support import dataplane
from tests.support.jobs import running_consumer
from tests.support.mail import body_text, smtp_server
from tests.web.conftest import _serve
from tests.web.helpers import WebApp, log_in, sign_in

pytestmark = pytest.mark.web
ADMIN = Actor(None, "test-admin", "admin")


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    """A web admin of its own (its log holds only these tests' messages)."""
    settings = dataplane.test_settings(tmp_path_factory.mktemp("web-messages"),
                                       notify_retry_seconds=0.2, notify_attempts=2)
    yield from _serve(settings)


def add(web: WebApp, **fields: Any) -> int:
    values: dict[str, Any] = {"channel": "email", "recipient": "ops@acme.example",
                              "subject": "Hello", "body": "Dear customer,\nhello.",
                              "purpose": "other", "status": "sent", "attempts": 1} | fields
    with web.sessions.begin() as session:
        message = Message(**values)
        session.add(message)
        session.flush()
        return message.id


def row(page: Page, message_id: int) -> Any:
    return page.locator(f'tr[data-row-id="{message_id}"]')


def test_log_badges_filters_search_and_csv(page: Page, own: WebApp) -> None:
    sent = add(own, recipient="noc@alpha.example", subject="Rates of December",
               purpose="rate_card")
    failed = add(own, channel="sms", recipient="+447400123456", subject="",
                 body="Your code is 482913", status="failed", attempts=5,
                 purpose="verification", last_error="gateway answered HTTP 500: down")
    log_in(page, own)
    page.get_by_role("link", name="Messages", exact=True).click()
    expect(row(page, sent).get_by_test_id("message-status")).to_have_text("sent")
    expect(row(page, failed).get_by_test_id("message-status")).to_have_text("failed")
    expect(row(page, failed)).to_contain_text("Your code is 482913")
    expect(row(page, failed)).to_contain_text("gateway answered HTTP 500: down")
    assert "status-msg-failed" in (row(page, failed).get_by_test_id("message-status")
                                   .get_attribute("class") or "")
    page.get_by_test_id("filter-status").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    expect(row(page, failed)).to_be_visible()
    expect(row(page, sent)).to_have_count(0)
    assert "status=failed" in page.url
    page.get_by_test_id("clear-filters").click()
    page.get_by_test_id("list-search").fill("december")
    page.get_by_role("button", name="Filter").click()
    expect(row(page, sent)).to_be_visible()
    expect(row(page, failed)).to_have_count(0)
    client, _ = sign_in(own)
    answer = client.get(own.url("/messages.csv?status=failed"), timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(answer.text)))
    assert lines[0][:3] == ["Created (UTC)", "Channel", "To"]
    # a leading + is quoted so that a spreadsheet does not run it as a formula
    assert [line[2] for line in lines[1:]] == ["'+447400123456"]


def test_detail_and_send_again_through_the_worker(page: Page, own: WebApp) -> None:
    with smtp_server() as inbox:
        with own.sessions.begin() as session:
            config.update_smtp(session, ADMIN, own.settings, {
                "host": "127.0.0.1", "port": inbox.port, "from_address": "noc@switch.test"})
        mid = add(own, recipient="billing@beta.example", subject="Invoice 42",
                  body="Please find your invoice.", status="failed", attempts=2,
                  last_error="connection refused by 127.0.0.1:2 (is the SMTP server "
                             "running on that port?)")
        jobqueue.load_task_modules()
        previous = jobqueue.configured()
        queue = jobqueue.configure(own.settings)
        try:
            with running_consumer(queue):
                log_in(page, own)
                page.goto(own.url(f"/messages/{mid}"))
                expect(page.get_by_test_id("message-status")).to_have_text("failed")
                expect(page.get_by_test_id("message-error")).to_contain_text(
                    "connection refused by 127.0.0.1:2")
                expect(page.get_by_test_id("message-body")).to_have_text(
                    "Please find your invoice.")
                page.get_by_test_id("retry").click()
                expect(page.get_by_test_id("confirm")).to_contain_text(
                    "failed after 2 attempts")
                page.get_by_test_id("confirm-button").click()
                expect(page.locator(".flash")).to_contain_text(f"Message {mid} queued again")
                [message] = inbox.wait(1)
                deadline = time.monotonic() + 15
                while True:
                    page.reload()
                    if page.get_by_test_id("message-status").inner_text() == "sent":
                        break
                    assert time.monotonic() < deadline, "the message was not sent"
                    time.sleep(0.2)
        finally:
            if previous is not None:
                jobqueue.configure(previous.settings)
    assert message["Subject"] == "Invoice 42" and message["To"] == "billing@beta.example"
    assert body_text(message).strip() == "Please find your invoice."
    expect(page.get_by_test_id("message-attempts")).to_have_text("1")
    expect(page.get_by_test_id("retry")).to_have_count(0)  # only a failed one


def test_viewers_read_but_do_not_send_again(page: Page, own: WebApp) -> None:
    mid = add(own, status="failed", last_error="no answer", recipient="v@gamma.example")
    with own.sessions.begin() as session:
        create_user(session, "vic", own.password, "viewer")
    log_in(page, own, "vic")
    page.goto(own.url(f"/messages/{mid}"))
    expect(page.get_by_test_id("message-error")).to_contain_text("no answer")
    expect(page.get_by_test_id("retry")).to_have_count(0)
    answer = page.goto(own.url(f"/messages/{mid}/retry"))
    assert answer is not None and answer.status == 403
