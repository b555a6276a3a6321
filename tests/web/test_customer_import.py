"""The CSV import wizard in real Chromium: upload, columns, preview, import; a bad row
blocks the import; viewers cannot reach it."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from playwright.sync_api import FilePayload, Page, expect
from sqlalchemy import func, select

from orchestrator.customers.models import Customer
from orchestrator.users.models import AdminUser
from orchestrator.users.service import create_user
from tests.web.helpers import WebApp, log_in

pytestmark = pytest.mark.web

VIEWER = "vince-import-viewer"
VIEWER_PASSWORD = "viewer password 456"


def count_named(web: WebApp, names: list[str]) -> int:
    with web.sessions() as session:
        return session.scalar(select(func.count()).select_from(Customer).where(
            func.lower(Customer.name).in_([n.lower() for n in names]))) or 0


def csv_file(text: str) -> FilePayload:
    return {"name": "new-customers.csv", "mimeType": "text/csv", "buffer": text.encode()}


def test_import_three_customers_with_own_header_names(page: Page, web_down: WebApp) -> None:
    web = web_down
    tag = secrets.token_hex(3)
    names = [f"Import Alpha {tag}", f"Import Beta {tag}", f"Import Gamma {tag}"]
    content = ("Customer Name;e_mail;CURRENCY;Location;Max Channels\n"
               f"{names[0]};noc@alpha.example;usd;Leeds;30\n"
               f"{names[1]};ops@beta.example;EUR;York;0\n"
               f"{names[2]};;GBP;Hull;12\n")
    log_in(page, web)
    page.goto(web.url("/customers"))
    page.get_by_test_id("import-customers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import customers from CSV")
    expect(page.get_by_test_id("import-template")).to_be_visible()
    expect(page.get_by_label("First row is a header")).to_be_checked()
    page.get_by_label("CSV file").set_input_files(csv_file(content))
    page.get_by_role("button", name="Upload").click()

    # Columns: guessed from the header names, sample values shown; one is changed.
    expect(page.get_by_test_id("import-file")).to_contain_text("3 rows of data")
    expect(page.get_by_label("Field for column Customer Name")).to_have_value("name")
    expect(page.get_by_label("Field for column e_mail")).to_have_value("email")
    expect(page.get_by_label("Field for column CURRENCY")).to_have_value("currency")
    expect(page.get_by_label("Field for column Max Channels")).to_have_value("channels")
    location = page.get_by_label("Field for column Location")
    expect(location).to_have_value("")  # not a field name: ignored until chosen
    expect(page.locator("tr[data-column='3'] .samples")).to_contain_text("Leeds")
    expect(page.locator("tr[data-column='3'] .samples")).to_contain_text("York")

    # The page tells at once when a field is chosen twice or a required one is missing.
    location.select_option("email")
    expect(page.locator("tr[data-column='3'] [data-live-error]")).to_contain_text(
        "Email is also chosen for e_mail")
    page.get_by_label("Field for column Customer Name").select_option("")
    expect(page.locator("[data-required='name']")).to_have_attribute("data-state", "missing")
    page.get_by_label("Field for column Customer Name").select_option("name")
    expect(page.locator("[data-required='name']")).to_have_attribute("data-state", "ok")
    location.select_option("city")
    expect(page.locator("tr[data-column='3'] [data-live-error]")).to_be_hidden()
    page.get_by_role("button", name="Preview").click()

    # Preview: the rows as they will be stored, the total, no errors.
    expect(page.get_by_test_id("import-count")).to_contain_text("3 customers")
    table = page.get_by_test_id("preview-table")
    expect(table.locator("tbody tr")).to_have_count(3)
    first = table.locator("tr[data-row='2']")
    expect(first.locator("td[data-field='currency']")).to_have_text("USD")
    expect(first.locator("td[data-field='city']")).to_have_text("Leeds")
    expect(first.locator("td[data-field='channels']")).to_have_text("30")
    expect(page.get_by_test_id("import-errors")).to_have_count(0)
    assert count_named(web, names) == 0  # nothing before Import
    button = page.get_by_test_id("import-button")
    expect(button).to_be_enabled()
    button.click()

    expect(page).to_have_url(web.url("/customers"))
    expect(page.get_by_role("status")).to_contain_text("Imported 3 customers")
    page.get_by_test_id("list-search").fill(tag)
    rows = page.locator("[data-list-results] tbody tr")
    expect(rows).to_have_count(3)
    for name in names:
        expect(page.locator("[data-list-results]")).to_contain_text(name)
    expect(rows.filter(has_text=names[0])).to_contain_text("Leeds")
    assert count_named(web, names) == 3


def test_a_bad_row_is_shown_and_nothing_is_imported(page: Page, web_down: WebApp) -> None:
    web = web_down
    tag = secrets.token_hex(3)
    names = [f"Bad File One {tag}", f"Bad File Two {tag}", f"Bad File Three {tag}"]
    content = ("Company,Mail,Money\n"
               f"{names[0]},one@good.example,USD\n"
               f"{names[1]},not-an-email,USD\n"
               f"{names[2]},three@good.example,USD\n")
    log_in(page, web)
    page.goto(web.url("/customers/import"))
    page.get_by_label("CSV file").set_input_files(csv_file(content))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_label("Field for column Company")).to_have_value("name")
    expect(page.get_by_label("Field for column Mail")).to_have_value("email")
    page.get_by_label("Field for column Money").select_option("currency")
    page.get_by_role("button", name="Preview").click()

    errors = page.get_by_test_id("import-errors")
    expect(errors).to_contain_text("1 error: nothing can be imported")
    expect(errors.locator("li")).to_have_count(1)
    expect(errors.locator("li")).to_have_text(
        re.compile(r"^row 3, column Mail: must be an email address"))
    expect(page.locator("tr[data-row='3']")).to_have_class(re.compile("row-invalid"))
    expect(page.get_by_test_id("import-button")).to_be_disabled()
    assert count_named(web, names) == 0

    page.get_by_role("button", name="Cancel").click()
    expect(page).to_have_url(web.url("/customers"))
    expect(page.get_by_role("status")).to_contain_text("nothing was imported")
    page.get_by_test_id("list-search").fill(tag)
    expect(page.get_by_test_id("list-empty")).to_be_visible()
    assert count_named(web, names) == 0


def test_upload_page_refuses_a_file_over_the_limit_at_once(
        page: Page, web_down: WebApp, tmp_path: Path) -> None:
    big = tmp_path / "huge.csv"  # a path: the browser reads it, nothing is sent over CDP
    with big.open("wb") as out:
        out.write(b"Name,Currency\n")
        out.truncate(10 * 1024 * 1024 + 1)
    log_in(page, web_down)
    page.goto(web_down.url("/customers/import"))
    page.get_by_label("CSV file").set_input_files(big)
    expect(page.locator("[data-import-size-error]")).to_contain_text(
        "at most 10 MB can be imported at once")
    expect(page.get_by_role("button", name="Upload")).to_be_disabled()
    page.get_by_label("CSV file").set_input_files(csv_file("Name,Currency\nSmall Co,USD\n"))
    expect(page.locator("[data-import-size-error]")).to_be_hidden()
    expect(page.get_by_role("button", name="Upload")).to_be_enabled()


def test_viewer_cannot_reach_the_wizard(page: Page, web_down: WebApp) -> None:
    with web_down.sessions.begin() as session:
        if session.scalar(select(AdminUser).where(AdminUser.username == VIEWER)) is None:
            create_user(session, VIEWER, VIEWER_PASSWORD, role="viewer")
    log_in(page, web_down, VIEWER, VIEWER_PASSWORD)
    page.goto(web_down.url("/customers"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Customers")
    expect(page.get_by_test_id("import-customers")).to_have_count(0)
    answer = page.goto(web_down.url("/customers/import"))
    assert answer is not None and answer.status == 403
    expect(page.locator("main")).to_contain_text("can only view customers")
    expect(page.get_by_label("CSV file")).to_have_count(0)
    template = page.request.get(web_down.url("/customers/import/template.csv"))
    assert template.status == 403
