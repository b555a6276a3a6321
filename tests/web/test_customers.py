"""Customer pages in real Chromium: add, find as you type, columns, payments, roles."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from orchestrator.actor import SYSTEM
from orchestrator.customers import payments
from orchestrator.customers.models import Customer
from orchestrator.customers.service import create_customer
from orchestrator.users.models import AdminUser
from orchestrator.users.service import create_user
from tests.web.helpers import WebApp, csrf_token, log_in, sign_in

pytestmark = pytest.mark.web

VIEWER = "vicky-viewer"
VIEWER_PASSWORD = "viewer password 123"


def unique(prefix: str) -> str:
    return f"{prefix} {secrets.token_hex(3)}"


def add_customer(web: WebApp, name: str, **fields: str) -> int:
    with web.sessions.begin() as session:
        return create_customer(session, SYSTEM, {"name": name, "currency": "USD"} | fields).id


def count_named(web: WebApp, name: str) -> int:
    with web.sessions() as session:
        return session.scalar(select(func.count()).select_from(Customer).where(
            func.lower(Customer.name) == name.lower())) or 0


def test_add_customer_with_ip_and_sip_user_then_find_it_by_typing(
        page: Page, web_down: WebApp) -> None:
    web = web_down
    name = unique("Zephyr Voice")
    other = add_customer(web, unique("Quokka Telecom"))
    log_in(page, web)
    page.get_by_role("link", name="Customers").click()
    page.get_by_test_id("add-customer").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Currency").fill("usd")
    page.get_by_label("Channels").fill("30")
    page.get_by_role("button", name="Add customer").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)

    page.get_by_role("link", name="IP auth").click()
    page.get_by_label("Address or network").fill("192.0.2.10")
    page.get_by_label("Port").fill("5060")
    page.get_by_role("button", name="Add IP").click()
    expect(page.get_by_test_id("ip-table")).to_contain_text("192.0.2.10/32")
    expect(page.get_by_test_id("ip-table")).to_contain_text("5060")

    page.get_by_role("link", name="SIP users").click()
    username = f"zephyr{secrets.token_hex(3)}"
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("s3cret-sip-pass")
    page.get_by_label("Allowed IPs").fill("198.51.100.0/24")
    page.get_by_role("button", name="Add SIP user").click()
    table = page.get_by_test_id("sip-user-table")
    expect(table).to_contain_text(username)
    expect(table).to_contain_text("198.51.100.0/24")
    assert "s3cret-sip-pass" not in page.content()

    page.goto(web.url("/customers"))
    rows = page.locator("[data-list-results] tbody tr")
    expect(page.locator(f"tr[data-row-id='{other}']")).to_be_visible()
    page.evaluate("window.notReloaded = true")
    part = name.split()[-1]  # the random part of the name
    page.get_by_test_id("list-search").press_sequentially(part, delay=30)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(name)
    expect(rows.first).to_contain_text("30")
    expect(page).to_have_url(re.compile(r"/customers\?q=" + part))
    assert page.evaluate("window.notReloaded") is True, "the page was reloaded"

    page.get_by_test_id("list-search").fill("no such customer at all")
    expect(page.get_by_test_id("list-empty")).to_contain_text(
        "No customer matches 'no such customer at all'")
    assert page.evaluate("window.notReloaded") is True


def test_hidden_column_stays_hidden_after_reload(page: Page, web_down: WebApp) -> None:
    add_customer(web_down, unique("Column Co"), city="Leeds")
    log_in(page, web_down)
    page.goto(web_down.url("/customers"))
    city_header = page.locator("th[data-col='city']")
    expect(city_header).to_be_visible()
    page.get_by_text("Columns", exact=True).click()
    page.get_by_role("checkbox", name="City").uncheck()
    expect(city_header).to_be_hidden()
    expect(page.locator("td[data-col='city']").first).to_be_hidden()
    expect(page.locator("[data-column-chooser]")).to_have_attribute("data-state", "saved")

    page.reload()
    expect(page.locator("th[data-col='email']")).to_be_visible()
    expect(page.locator("th[data-col='city']")).to_be_hidden()
    expect(page.locator("[data-column-toggle='city']")).not_to_be_checked()

    page.get_by_text("Columns", exact=True).click()
    page.get_by_role("checkbox", name="City").check()  # leave the admin's view as it was
    expect(page.locator("[data-column-chooser]")).to_have_attribute("data-state", "saved")


def test_completed_payment_changes_the_balance(page: Page, web_down: WebApp) -> None:
    customer_id = add_customer(web_down, unique("Payer Ltd"), debit_limit="10")
    log_in(page, web_down)
    page.goto(web_down.url(f"/customers/{customer_id}?tab=balance"))
    expect(page.get_by_test_id("balance")).to_have_text("0 USD")

    page.get_by_role("link", name="Payments").click()
    page.get_by_label("Amount (USD)").fill("25.50")
    page.get_by_label("Fee").fill("1.20")
    page.get_by_label("Status", exact=True).select_option("completed")
    page.get_by_role("button", name="Record payment").click()
    expect(page.get_by_test_id("payment-table")).to_contain_text("25.5 USD")

    page.get_by_role("link", name="Balance").click()
    expect(page.get_by_test_id("balance")).to_have_text("25.5 USD")  # the fee does not count
    expect(page.get_by_test_id("credit-available")).to_have_text("35.5 USD")


def test_bad_input_shows_the_field_error_and_creates_nothing(
        page: Page, web_down: WebApp) -> None:
    name = unique("Broken Input")
    log_in(page, web_down)
    page.goto(web_down.url("/customers/new"))
    page.get_by_label("Name").fill(name)
    page.get_by_label("Currency").fill("XYZ")
    page.get_by_label("Email", exact=True).fill("not-an-email")
    page.get_by_role("button", name="Add customer").click()
    expect(page.locator("[data-error-for='currency']")).to_contain_text("ISO 4217")
    expect(page.locator("[data-error-for='email']")).to_contain_text("email address")
    expect(page.get_by_label("Name")).to_have_value(name)  # what was typed is kept
    expect(page.get_by_label("Email", exact=True)).to_have_attribute("aria-invalid", "true")
    assert count_named(web_down, name) == 0


def test_viewer_sees_no_edit_controls_and_cannot_post(page: Page, web_down: WebApp) -> None:
    with web_down.sessions.begin() as session:
        if session.scalar(select(AdminUser).where(AdminUser.username == VIEWER)) is None:
            create_user(session, VIEWER, VIEWER_PASSWORD, role="viewer")
    customer_id = add_customer(web_down, unique("Read Only Inc"))
    log_in(page, web_down, VIEWER, VIEWER_PASSWORD)
    page.goto(web_down.url("/customers"))
    expect(page.locator(f"tr[data-row-id='{customer_id}']")).to_be_visible()
    expect(page.get_by_test_id("add-customer")).to_have_count(0)
    page.goto(web_down.url(f"/customers/{customer_id}?tab=payments"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Read Only Inc")
    expect(page.get_by_test_id("edit-controls")).to_have_count(0)
    expect(page.locator("form[method='post']:not(.inline)")).to_have_count(0)
    expect(page.get_by_role("button", name="Record payment")).to_have_count(0)

    client, answer = sign_in(web_down, VIEWER, VIEWER_PASSWORD)
    assert answer.status_code == 302
    token = csrf_token(client.get(web_down.url("/customers"), timeout=10).text)
    refused = client.post(web_down.url(f"/customers/{customer_id}/payments"), timeout=10,
                          data={"csrf_token": token, "amount": "99", "status": "completed"},
                          allow_redirects=False)
    assert refused.status_code == 403
    deleted = client.post(web_down.url(f"/customers/{customer_id}/delete"), timeout=10,
                          data={"csrf_token": token}, allow_redirects=False)
    assert deleted.status_code == 403
    with web_down.sessions() as session:
        assert payments.balance(session, customer_id) == 0
        assert session.get(Customer, customer_id) is not None


def test_search_sort_and_csv_export_without_script(web_down: WebApp) -> None:
    token = secrets.token_hex(3)
    add_customer(web_down, f"Sortable A {token}", city="=SUM(A1)")
    add_customer(web_down, f"Sortable B {token}", city="York")
    client, _ = sign_in(web_down)
    html = client.get(web_down.url(f"/customers?q={token.upper()}&sort=-name"), timeout=10).text
    assert html.index(f"Sortable B {token}") < html.index(f"Sortable A {token}")
    assert "2 in total" in html
    assert 'aria-sort="descending"' in html

    export = client.get(web_down.url(f"/customers.csv?q={token}"), timeout=10)
    assert export.headers["Content-Type"].startswith("text/csv")
    lines = export.text.splitlines()
    assert lines[0] == "Name,Status,Currency,Balance,Channels,CPS,Email,City,Created"
    assert len(lines) == 3
    assert lines[1].startswith(f"Sortable A {token},active,USD,0,0,0,,'=SUM(A1),")


def test_column_choice_needs_the_csrf_token_and_known_columns(web_down: WebApp) -> None:
    add_customer(web_down, unique("Columns Ltd"))
    client, _ = sign_in(web_down)
    token = csrf_token(client.get(web_down.url("/customers"), timeout=10).text)
    url = web_down.url("/customers/columns")
    assert client.post(url, json={"columns": ["status"]}, timeout=10).status_code == 400
    refused = client.post(url, json={"columns": ["status", "secret"]}, timeout=10,
                          headers={"X-CSRFToken": token})
    assert refused.status_code == 422
    assert refused.json()["errors"]["columns"] == ["unknown columns: secret"]

    # Without script the chooser is a plain form.
    posted = client.post(url, data={"csrf_token": token, "columns": ["status", "balance"]},
                         timeout=10, allow_redirects=False)
    assert posted.status_code == 302
    html = client.get(web_down.url("/customers"), timeout=10).text
    assert '<th scope="col" data-col="email" hidden' in html
    assert re.search(r'<th scope="col" data-col="balance"\s+class="num"', html)
    everything = ["name", "status", "currency", "balance", "channels", "cps", "email", "city",
                  "created_at"]
    restored = client.post(url, json={"columns": everything}, timeout=10,
                           headers={"X-CSRFToken": token})
    assert restored.json() == {"columns": everything}


def test_edit_keeps_the_currency_and_delete_asks_first(web_down: WebApp) -> None:
    name = unique("Editable")
    customer_id = add_customer(web_down, name)
    client, _ = sign_in(web_down)
    form = client.get(web_down.url(f"/customers/{customer_id}/edit"), timeout=10).text
    assert 'name="currency"' not in form
    assert "USD <span class=\"muted\">(fixed after creation)" in form
    saved = client.post(web_down.url(f"/customers/{customer_id}/edit"), timeout=10,
                        allow_redirects=False,
                        data={"csrf_token": csrf_token(form), "name": name, "status": "penalty",
                              "currency": "EUR", "cps": "7"})
    assert saved.status_code == 302
    with web_down.sessions() as session:
        customer = session.get(Customer, customer_id)
        assert customer is not None
        assert (customer.currency, customer.status, customer.cps) == ("USD", "penalty", 7)

    confirm = client.get(web_down.url(f"/customers/{customer_id}/delete"), timeout=10).text
    assert f"Delete customer {name}?" in confirm
    assert count_named(web_down, name) == 1  # asking deletes nothing
    done = client.post(web_down.url(f"/customers/{customer_id}/delete"), timeout=10,
                       data={"csrf_token": csrf_token(confirm)}, allow_redirects=False)
    assert done.status_code == 302
    assert count_named(web_down, name) == 0
