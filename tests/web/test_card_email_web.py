"""Email a customer card in real Chromium: open the card, Email, enter addresses,
preview the summary, choose XLSX, send; the email arrives at a real SMTP server
(aiosmtpd) through the in-process job worker, and the send shows in the history. Bulk:
the confirmation counts customers and cards, then the job page. Field errors; viewer."""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Iterator

import polars as pl
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from orchestrator.actor import Actor
from orchestrator.customers import service as customers
from orchestrator.jobs import service as jobs
from orchestrator.notify import config
from orchestrator.notify.models import StoredSettings
from orchestrator.ratecards import card_email_bulk
from orchestrator.ratecards.models import CardEmail
from orchestrator.routing import routes
from orchestrator.users.service import create_user
from tests.support.mail import Inbox, attachments, body_text, smtp_server
from tests.unit.ratecards.card_email_support import BASE, T1, go_live, make_card
from tests.web.helpers import WebApp, log_in, sign_in

pytestmark = pytest.mark.web

ADMIN = Actor(None, "alice", "admin")


@pytest.fixture
def inbox(web_down: WebApp, jobs_worker: object) -> Iterator[Inbox]:
    """aiosmtpd, and the app's stored SMTP settings pointing at it (removed after)."""
    with smtp_server() as server:
        with web_down.sessions.begin() as session:
            row = session.get(StoredSettings, "smtp")
            before = dict(row.value) if row is not None else None
            config.update_smtp(session, ADMIN, web_down.settings, {
                "host": "127.0.0.1", "port": server.port, "security": "none",
                "from_address": "rates@switch.test"})
        try:
            yield server
        finally:
            with web_down.sessions.begin() as session:
                row = session.get(StoredSettings, "smtp")
                if row is not None and before is None:
                    session.delete(row)
                elif row is not None and before is not None:
                    row.value = before


def _card(web: WebApp, public_name: str) -> int:
    with web.sessions.begin() as session:
        card = make_card(session, name=f"Card {secrets.token_hex(3)}", public_name=public_name)
        go_live(session, card, BASE, T1)
        return card.id


def test_email_a_card_as_xlsx_and_see_it_delivered(page: Page, web_down: WebApp,
                                                   inbox: Inbox) -> None:
    card_id = _card(web_down, "Web Retail")
    log_in(page, web_down)
    page.goto(web_down.url(f"/customer-cards/{card_id}"))
    expect(page.get_by_test_id("email-history-empty")).to_be_visible()
    page.get_by_test_id("email-card").click()
    expect(page.get_by_role("heading", name="Email the rate card")).to_be_visible()
    page.get_by_label("Email addresses").fill("Buyer@Web.example, ops@web.example")
    page.get_by_label("XLSX").check()
    page.get_by_test_id("preview-button").click()
    preview = page.get_by_test_id("email-preview")
    expect(preview).to_contain_text("Preview for buyer@web.example")
    expect(preview).to_contain_text("This is the first card sent to you: 5 prefixes.")
    expect(preview).to_contain_text("Web_Retail-20261102.xlsx")
    expect(page.get_by_label("XLSX")).to_be_checked()
    page.get_by_test_id("send-button").click()
    expect(page.locator(".flash")).to_contain_text(
        "Rate card queued (XLSX) to buyer@web.example, ops@web.example")
    messages = inbox.wait(2)
    assert sorted(m["To"] for m in messages) == ["buyer@web.example", "ops@web.example"]
    [(name, content)] = attachments(messages[0])
    assert name == "Web_Retail-20261102.xlsx"
    sheet = pl.read_excel(io.BytesIO(content), engine="calamine")
    assert sheet["prefix"].to_list() == sorted(row[0] for row in BASE)
    assert "Rate card Web Retail (USD)" in messages[0]["Subject"]
    assert "first card sent to you" in body_text(messages[0])
    page.goto(web_down.url(f"/customer-cards/{card_id}"))
    history = page.get_by_test_id("email-history")
    expect(history.locator("tbody tr")).to_have_count(2)
    expect(history).to_contain_text("buyer@web.example")
    expect(history).to_contain_text("XLSX")
    expect(history).to_contain_text("first card (5 prefixes)")
    statuses = history.get_by_test_id("email-status")
    for _ in range(50):  # the delivery job marks each message sent
        if [t.strip() for t in statuses.all_text_contents()] == ["sent", "sent"]:
            break
        page.wait_for_timeout(200)
        page.reload()
    assert [t.strip() for t in statuses.all_text_contents()] == ["sent", "sent"]
    expect(statuses.first.get_by_role("link", name="sent")).to_have_attribute(
        "href", re.compile(r"/messages/\d+"))


def test_bad_addresses_are_named_and_nothing_is_sent(page: Page, web_down: WebApp,
                                                     inbox: Inbox) -> None:
    card_id = _card(web_down, "Web Errors")
    log_in(page, web_down)
    page.goto(web_down.url(f"/customer-cards/{card_id}/email"))
    page.get_by_label("Email addresses").fill("good@web.example not-an-address")
    page.get_by_test_id("send-button").click()
    expect(page.locator("[data-error-for=addresses]")).to_contain_text(
        "'not-an-address' is not an email address")
    expect(page.get_by_label("Email addresses")).to_have_value(
        "good@web.example not-an-address")
    with web_down.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CardEmail).where(
            CardEmail.customer_card_id == card_id)) == 0
    assert inbox.messages == []


def test_bulk_confirmation_counts_then_the_job_sends(page: Page, web_down: WebApp,
                                                     inbox: Inbox) -> None:
    card_id = _card(web_down, "Web Bulk")
    tag = secrets.token_hex(3)
    with web_down.sessions.begin() as session:
        for name, email in ((f"Bulk A {tag}", f"a-{tag}@bulk.example"),
                            (f"Bulk B {tag}", "")):
            customer = customers.create_customer(session, ADMIN, {
                "name": name, "currency": "USD", "email": email})
            routes.create_route(session, ADMIN, customer.id, {"tariff_id": card_id})
    log_in(page, web_down)
    page.goto(web_down.url("/customer-cards"))
    page.get_by_test_id("email-bulk").click()
    counts = page.get_by_test_id("bulk-counts")
    expect(counts).to_contain_text(re.compile(r"\d+ emails? to \d+ customers? \(\d+ cards?\)"))
    with web_down.sessions() as session:
        planned = card_email_bulk.plan_counts(card_email_bulk.plan(session))
    expect(counts).to_contain_text(f"{planned['emails']} email")
    page.get_by_test_id("bulk-skipped-summary").click()
    expect(page.get_by_test_id("bulk-skipped")).to_be_visible()
    page.get_by_test_id("confirm-button").click()
    expect(page).to_have_url(re.compile(r"/jobs/\d+"))
    expect(page.get_by_text("Rate cards emailed to customers")).to_be_visible(timeout=20_000)
    expect(page.get_by_text(re.compile(r"emails? queued to"))).to_be_visible(timeout=20_000)
    expect(page.get_by_text(re.compile(r"emails? queued to"))).to_contain_text(
        "Skipped: ")  # at least our customer without an email address
    expect(page.get_by_test_id("job-result")).to_have_attribute(
        "href", re.compile(r"/messages\?purpose=rate_card"))
    page.screenshot(path="/tmp/h/c_job.png", full_page=True)
    job_id = int(page.url.rsplit("/", 1)[1].split("?")[0])
    with web_down.sessions() as session:
        result = jobs.get_job(session, ADMIN, job_id).result or {}
    assert {"customer": f"Bulk B {tag}", "reason": "no email address"}.items() <= next(
        s for s in result["skipped"] if s["customer"] == f"Bulk B {tag}").items()
    assert [s["card_id"] for s in result["sent"] if s["customer"] == f"Bulk A {tag}"] == [
        card_id]
    arrived = inbox.wait(len(result["sent"]))
    assert f"a-{tag}@bulk.example" in [m["To"] for m in arrived]
    mine = next(m for m in arrived if m["To"] == f"a-{tag}@bulk.example")
    assert body_text(mine).startswith(f"Dear Bulk A {tag},")


def test_a_viewer_sees_the_history_but_cannot_send(web_down: WebApp) -> None:
    card_id = _card(web_down, "Web Viewer")
    name = f"viewer-{secrets.token_hex(3)}"
    with web_down.sessions.begin() as session:
        create_user(session, name, "viewer password 123", "viewer")
    client, _ = sign_in(web_down, name, "viewer password 123")
    shown = client.get(web_down.url(f"/customer-cards/{card_id}/email"), timeout=10)
    assert shown.status_code == 200
    assert "This card has not been emailed yet." in shown.text
    assert 'data-testid="send-button"' not in shown.text
    listing = client.get(web_down.url("/customer-cards"), timeout=10).text
    match = re.search(r'name="csrf-token" content="([^"]+)"', listing)
    assert match, "no CSRF token on the list page"
    refused = client.post(web_down.url(f"/customer-cards/{card_id}/email"), data={
        "csrf_token": match.group(1), "addresses": "a@web.example", "format": "csv",
        "action": "send"}, timeout=10)
    assert refused.status_code == 403
    assert client.get(web_down.url("/customer-cards/email-bulk"),
                      timeout=10).status_code == 403
    with web_down.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CardEmail).where(
            CardEmail.customer_card_id == card_id)) == 0
