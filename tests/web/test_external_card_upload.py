"""The upload wizard of an EXTERNAL customer card in real Chromium: the Upload tab,
preview and column mapping, activate now, the job's progress page, then the rates on
the card's Rates tab. A built card has no Upload tab and its upload URLs are refused;
viewers get 403. The pages are those of provider cards (webui/provider_cards/upload.py)
registered on the customer card blueprint."""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
from huey.consumer import Consumer
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from orchestrator.actor import SYSTEM
from orchestrator.ratecards import customer_cards
from orchestrator.ratecards.models import RateRevision
from orchestrator.users.models import AdminUser
from orchestrator.users.service import create_user
from tests.web.helpers import WebApp, csrf_token, log_in, sign_in

pytestmark = pytest.mark.web

VIEWER = "xcard-viewer"
VIEWER_PASSWORD = "viewer password 321"
TOKEN = "0" * 32
DECK = (b"Code,Country,Sell\n"
        b"44,United Kingdom,0.0150\n"
        b"4420,UK London,0.0175\n"
        b"33,France,0.0210\n")


def unique(prefix: str) -> str:
    return f"{prefix} {secrets.token_hex(3)}"


def add_customer_card(web: WebApp, *, external: bool) -> tuple[int, str]:
    name = unique("External Retail" if external else "Built Retail")
    with web.sessions.begin() as session:
        card = customer_cards.create_customer_card(session, SYSTEM, {
            "name": name, "currency": "USD", "external": external})
        assert card.external is external
        return card.id, name


def revision_count(web: WebApp, card_id: int) -> int:
    with web.sessions() as session:
        return session.scalar(select(func.count()).select_from(RateRevision).where(
            RateRevision.customer_card_id == card_id)) or 0


def add_viewer(web: WebApp) -> None:
    with web.sessions.begin() as session:
        if session.scalar(select(AdminUser).where(AdminUser.username == VIEWER)) is None:
            create_user(session, VIEWER, VIEWER_PASSWORD, role="viewer")


def post(client: Any, web: WebApp, path: str, data: dict[str, str], **kwargs: Any) -> Any:
    token = csrf_token(client.get(web.url("/customer-cards"), timeout=10).text)
    return client.post(web.url(path), data=data | {"csrf_token": token}, timeout=10,
                       allow_redirects=False, **kwargs)


def test_external_card_upload_activate_progress_and_rates(
        page: Page, web_down: WebApp, jobs_worker: Consumer) -> None:
    web = web_down
    card_id, name = add_customer_card(web, external=True)
    log_in(page, web)
    page.goto(web.url(f"/customer-cards/{card_id}"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    page.get_by_role("link", name="Upload", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/customer-cards/{card_id}\?tab=upload$"))
    expect(page.locator("[data-tab='upload'] .import-steps li[aria-current='step']")
           ).to_have_text("1. Choose the file")

    # Step 1 -> 2: the preview and the suggested mapping, on the customer card's URLs.
    page.locator("#f-file").set_input_files(files=[{"name": "retail-deck.csv",
                                                    "mimeType": "text/csv",
                                                    "buffer": DECK}])
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_test_id("preview-table")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/customer-cards/{card_id}/upload/[0-9a-f]{{32}}\?"))
    breadcrumb = page.locator(".breadcrumb")
    expect(breadcrumb.get_by_role("link", name="Customer cards")).to_have_attribute(
        "href", "/customer-cards")
    expect(breadcrumb.get_by_role("link", name=name)).to_have_attribute(
        "href", f"/customer-cards/{card_id}")
    expect(page.get_by_test_id("detected-delimiter")).to_have_text(",")
    expect(page.get_by_test_id("preview-table").locator("tbody tr")).to_have_count(4)
    expect(page.get_by_label("First data row")).to_have_value("2")
    page.get_by_label("Column 1").select_option("prefix")
    page.get_by_label("Column 2").select_option("name")
    page.get_by_label("Column 3").select_option("rate")
    page.get_by_label("Activate now").check()
    assert revision_count(web, card_id) == 0
    page.get_by_test_id("start-import").click()

    # Step 3: the job's progress page, with its links back to the customer card.
    expect(page).to_have_url(re.compile(r"/jobs/\d+"))
    expect(page.get_by_test_id("job-state")).to_have_text("done")
    expect(page.get_by_test_id("job-done")).to_contain_text("3 rates in revision 1 (active)")
    expect(page.get_by_role("link", name="Back to the customer card")).to_have_attribute(
        "href", f"/customer-cards/{card_id}")
    page.get_by_test_id("job-result").click()

    # The new revision's rates on the customer card's Rates tab.
    expect(page).to_have_url(re.compile(rf"/customer-cards/{card_id}\?tab=rates&revision=\d+"))
    expect(page.get_by_test_id("rates-revision")).to_contain_text("Revision 1 (active, 3 rates)")
    table = page.get_by_test_id("rates-table")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table.locator("tr[data-prefix='4420'] [data-col='rate']")).to_have_text("0.0175")
    expect(table.locator("tr[data-prefix='33']")).to_contain_text("France")
    assert revision_count(web, card_id) == 1


def test_external_card_upload_errors_stay_on_the_card(web_down: WebApp) -> None:
    web = web_down
    card_id, _ = add_customer_card(web, external=True)
    client, answer = sign_in(web)
    assert answer.status_code == 302
    # No file: the Upload tab again, with the error, on the customer card page.
    answer = post(client, web, f"/customer-cards/{card_id}/upload", {})
    assert answer.status_code == 422
    assert "Choose a file to upload." in answer.text
    assert 'data-tab="upload"' in answer.text
    # A mapping without the rate: nothing queued, the mapping page says what is missing.
    answer = client.post(web.url(f"/customer-cards/{card_id}/upload"),
                         data={"csrf_token": csrf_token(answer.text)},
                         files={"file": ("deck.csv", DECK)}, timeout=10,
                         allow_redirects=False)
    assert answer.status_code == 302
    match = re.search(r"/customer-cards/\d+/upload/([0-9a-f]{32})", answer.headers["Location"])
    assert match, answer.headers["Location"]
    answer = post(client, web, f"/customer-cards/{card_id}/upload/{match.group(1)}",
                  {"col_0": "prefix", "first_row": "2", "when": "draft"})
    assert answer.status_code == 422
    assert "Choose the column that holds the rate." in answer.text
    assert revision_count(web, card_id) == 0


def test_built_card_has_no_upload_tab_and_its_upload_urls_are_refused(
        page: Page, web_down: WebApp) -> None:
    web = web_down
    card_id, name = add_customer_card(web, external=False)
    log_in(page, web)
    page.goto(web.url(f"/customer-cards/{card_id}"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    expect(page.locator("nav.tabs").get_by_role("link", name="Rates")).to_be_visible()
    expect(page.locator("nav.tabs").get_by_role("link", name="Upload")).to_have_count(0)
    expect(page.get_by_test_id("upload-link")).to_have_count(0)
    answer = page.goto(web.url(f"/customer-cards/{card_id}?tab=upload"))
    assert answer is not None and answer.status == 404

    client, answer = sign_in(web)
    assert answer.status_code == 302
    answer = client.post(web.url(f"/customer-cards/{card_id}/upload"),
                         data={"csrf_token": csrf_token(
                             client.get(web.url("/customer-cards"), timeout=10).text)},
                         files={"file": ("deck.csv", DECK)}, timeout=10,
                         allow_redirects=False)
    assert answer.status_code == 409
    assert "built from its parents" in answer.text
    assert client.get(web.url(f"/customer-cards/{card_id}/upload/{TOKEN}"),
                      timeout=10).status_code == 409
    answer = post(client, web, f"/customer-cards/{card_id}/upload/{TOKEN}",
                  {"col_0": "prefix", "col_2": "rate", "first_row": "2",
                   "when": "activate"})
    assert answer.status_code == 409
    assert revision_count(web, card_id) == 0
    # An unknown card is 404.
    assert client.get(web.url(f"/customer-cards/999999999/upload/{TOKEN}"),
                      timeout=10).status_code == 404


def test_viewer_sees_no_upload_tab_and_gets_403(page: Page, web_down: WebApp) -> None:
    web = web_down
    add_viewer(web)
    card_id, name = add_customer_card(web, external=True)
    log_in(page, web, VIEWER, VIEWER_PASSWORD)
    page.goto(web.url(f"/customer-cards/{card_id}"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    expect(page.locator("nav.tabs").get_by_role("link", name="Rates")).to_be_visible()
    expect(page.locator("nav.tabs").get_by_role("link", name="Upload")).to_have_count(0)
    expect(page.get_by_test_id("upload-link")).to_have_count(0)
    page.goto(web.url(f"/customer-cards/{card_id}?tab=upload"))
    expect(page.locator("form[data-wizard-upload]")).to_have_count(0)

    client, answer = sign_in(web, VIEWER, VIEWER_PASSWORD)
    assert answer.status_code == 302
    answer = client.post(web.url(f"/customer-cards/{card_id}/upload"),
                         data={"csrf_token": csrf_token(
                             client.get(web.url("/customer-cards"), timeout=10).text)},
                         files={"file": ("deck.csv", DECK)}, timeout=10,
                         allow_redirects=False)
    assert answer.status_code == 403
    assert client.get(web.url(f"/customer-cards/{card_id}/upload/{TOKEN}"),
                      timeout=10).status_code == 403
    answer = post(client, web, f"/customer-cards/{card_id}/upload/{TOKEN}",
                  {"col_0": "prefix", "col_2": "rate", "first_row": "2",
                   "when": "activate"})
    assert answer.status_code == 403
    assert revision_count(web, card_id) == 0
