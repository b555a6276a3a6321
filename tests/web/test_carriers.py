"""Carrier pages in real Chromium: add with gateways, find as you type, payments,
field errors, the write-only portal password, and the viewer role."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from orchestrator.actor import SYSTEM
from orchestrator.carriers import payments
from orchestrator.carriers.models import Carrier, Gateway
from orchestrator.carriers.service import create_carrier
from orchestrator.users.models import AdminUser
from orchestrator.users.service import create_user
from tests.web.helpers import WebApp, csrf_token, log_in, sign_in

pytestmark = pytest.mark.web

VIEWER = "carla-viewer"
VIEWER_PASSWORD = "viewer password 456"


def unique(prefix: str) -> str:
    return f"{prefix} {secrets.token_hex(3)}"


def add_carrier(web: WebApp, name: str, **fields: str) -> int:
    with web.sessions.begin() as session:
        return create_carrier(session, SYSTEM, {"name": name, "currency": "EUR"} | fields).id


def gateway_count(web: WebApp, carrier_id: int) -> int:
    with web.sessions() as session:
        return session.scalar(select(func.count()).select_from(Gateway).where(
            Gateway.carrier_id == carrier_id)) or 0


def test_add_carrier_with_two_gateways_then_find_it_by_typing(
        page: Page, web_down: WebApp) -> None:
    web = web_down
    name = unique("Atlas Transit")
    other = add_carrier(web, unique("Borealis Carrier"))
    log_in(page, web)
    page.get_by_role("link", name="Carriers").click()
    page.get_by_test_id("add-carrier").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Currency").fill("usd")
    page.get_by_label("Channels").fill("120")
    page.get_by_role("button", name="Add carrier").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)

    page.get_by_role("link", name="Gateways").click()
    page.get_by_label("Host").fill("192.0.2.10")
    page.get_by_role("button", name="Add gateway").click()
    expect(page.get_by_test_id("gateway-table")).to_contain_text("192.0.2.10")
    page.get_by_label("Host").fill("SBC.Atlas.example")
    page.get_by_role("textbox", name="Port").fill("5080")
    page.get_by_label("Transport").select_option("tcp")
    page.get_by_label("Weight").fill("3")
    page.get_by_role("button", name="Add gateway").click()
    rows = page.get_by_test_id("gateway-table").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("192.0.2.10")
    expect(rows.nth(0)).to_contain_text("5060")
    expect(rows.nth(1)).to_contain_text("sbc.atlas.example")  # stored in lower case
    expect(rows.nth(1)).to_contain_text("TCP")
    rows.nth(1).get_by_role("button", name="Disable").click()
    expect(rows.nth(1).locator("td").nth(4)).to_have_text("no")

    page.goto(web.url("/carriers"))
    results = page.locator("[data-list-results] tbody tr")
    expect(page.locator(f"tr[data-row-id='{other}']")).to_be_visible()
    page.evaluate("window.notReloaded = true")
    part = name.split()[-1]
    page.get_by_test_id("list-search").press_sequentially(part, delay=30)
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text(name)
    expect(results.first.locator("td[data-col='gateways']")).to_have_text("2")
    expect(page).to_have_url(re.compile(r"/carriers\?q=" + part))
    assert page.evaluate("window.notReloaded") is True, "the page was reloaded"
    page.get_by_test_id("list-search").fill("no such carrier at all")
    expect(page.get_by_test_id("list-empty")).to_contain_text(
        "No carrier matches 'no such carrier at all'")


def test_recorded_payment_changes_the_balance(page: Page, web_down: WebApp) -> None:
    carrier_id = add_carrier(web_down, unique("Payee Carrier"))
    log_in(page, web_down)
    page.goto(web_down.url(f"/carriers/{carrier_id}?tab=balance"))
    expect(page.get_by_test_id("balance")).to_have_text("0.00 EUR")

    page.get_by_role("link", name="Payments").click()
    page.get_by_label("Amount (EUR)").fill("40.25")
    page.get_by_label("Fee").fill("1.50")
    page.get_by_label("Status", exact=True).select_option("pending")
    page.get_by_role("button", name="Record payment").click()
    expect(page.get_by_test_id("payment-table")).to_contain_text("40.25 EUR")
    expect(page.get_by_test_id("payments-balance")).to_have_text("0.00 EUR")  # pending

    row = page.get_by_test_id("payment-table").locator("tbody tr").first
    row.locator("select").select_option("completed")
    row.get_by_role("button", name="Set").click()
    expect(page.get_by_test_id("payments-balance")).to_have_text("40.25 EUR")
    page.get_by_role("link", name="Balance").click()
    expect(page.get_by_test_id("balance")).to_have_text("40.25 EUR")  # the fee does not count


def test_bad_gateway_host_shows_the_field_error_and_adds_nothing(
        page: Page, web_down: WebApp) -> None:
    carrier_id = add_carrier(web_down, unique("Strict Hosts"))
    log_in(page, web_down)
    page.goto(web_down.url(f"/carriers/{carrier_id}?tab=gateways"))
    page.get_by_label("Host").fill("sip:192.0.2.1:5060")
    page.get_by_label("Weight").fill("7")
    page.get_by_role("button", name="Add gateway").click()
    expect(page.locator("[data-error-for='host']")).to_contain_text("without a scheme")
    expect(page.get_by_label("Host")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Host")).to_have_value("sip:192.0.2.1:5060")  # typed is kept
    expect(page.get_by_label("Weight")).to_have_value("7")
    expect(page.get_by_test_id("gateway-table")).to_have_count(0)
    assert gateway_count(web_down, carrier_id) == 0


def test_portal_password_is_never_in_the_page(page: Page, web_down: WebApp) -> None:
    name = unique("Portal Keeper")
    password = f"pw-{secrets.token_hex(8)}"
    log_in(page, web_down)
    page.goto(web_down.url("/carriers/new"))
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Currency").fill("GBP")
    page.get_by_label("Portal URL").fill("portal.keeper.example")
    page.locator("#f-portal_password").fill(password)
    page.get_by_role("button", name="Add carrier").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    expect(page.get_by_test_id("portal-password-state")).to_have_text("set")
    assert password not in page.content()
    carrier_url = page.url

    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_test_id("portal-password-state")).to_have_text("set")
    expect(page.locator("#f-portal_password")).to_have_value("")
    assert password not in page.content()
    page.get_by_label("City").fill("Bristol")
    page.get_by_role("button", name="Save").click()  # empty password: keep it
    expect(page).to_have_url(carrier_url)
    expect(page.get_by_test_id("portal-password-state")).to_have_text("set")
    with web_down.sessions() as session:
        carrier = session.scalar(select(Carrier).where(Carrier.name == name))
        assert carrier is not None and carrier.city == "Bristol"
        assert carrier.portal_url == "https://portal.keeper.example"
        assert carrier.portal_password_encrypted and password not in \
            carrier.portal_password_encrypted

    # A refused save does not send the typed password back either.
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Country").fill("QQ")
    page.locator("#f-portal_password").fill(password + "-new")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("[data-error-for='country']")).to_be_visible()
    assert password not in page.content()

    page.goto(carrier_url)
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Clear the stored portal password").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("portal-password-state")).to_have_text("not set")


def test_viewer_sees_no_edit_controls_and_cannot_post(page: Page, web_down: WebApp) -> None:
    with web_down.sessions.begin() as session:
        if session.scalar(select(AdminUser).where(AdminUser.username == VIEWER)) is None:
            create_user(session, VIEWER, VIEWER_PASSWORD, role="viewer")
    carrier_id = add_carrier(web_down, unique("Look Only"))
    log_in(page, web_down, VIEWER, VIEWER_PASSWORD)
    page.goto(web_down.url("/carriers"))
    expect(page.locator(f"tr[data-row-id='{carrier_id}']")).to_be_visible()
    expect(page.get_by_test_id("add-carrier")).to_have_count(0)
    for tab in ("main", "gateways", "payments"):
        page.goto(web_down.url(f"/carriers/{carrier_id}?tab={tab}"))
        expect(page.get_by_role("heading", level=1)).to_contain_text("Look Only")
        expect(page.get_by_test_id("edit-controls")).to_have_count(0)
        expect(page.locator("form[method='post']:not([action$='/logout'])")).to_have_count(0)

    client, answer = sign_in(web_down, VIEWER, VIEWER_PASSWORD)
    assert answer.status_code == 302
    token = csrf_token(client.get(web_down.url("/carriers"), timeout=10).text)
    posts = {f"/carriers/{carrier_id}/gateways": {"host": "192.0.2.99"},
             f"/carriers/{carrier_id}/payments": {"amount": "5", "status": "completed"},
             f"/carriers/{carrier_id}/edit": {"name": "Renamed", "status": "active"},
             f"/carriers/{carrier_id}/delete": {},
             "/carriers/new": {"name": unique("Sneaky"), "currency": "USD"}}
    for path, form in posts.items():
        refused = client.post(web_down.url(path), data={"csrf_token": token} | form,
                              timeout=10, allow_redirects=False)
        assert refused.status_code == 403, path
    assert client.get(web_down.url(f"/carriers/{carrier_id}/edit"),
                      timeout=10).status_code == 403
    with web_down.sessions() as session:
        carrier = session.get(Carrier, carrier_id)
        assert carrier is not None and carrier.name.startswith("Look Only")
        assert payments.balance(session, carrier_id) == 0
    assert gateway_count(web_down, carrier_id) == 0


def test_sort_csv_and_delete_without_script(web_down: WebApp) -> None:
    token = secrets.token_hex(3)
    first = add_carrier(web_down, f"Sorted A {token}", city="=CMD()")
    add_carrier(web_down, f"Sorted B {token}", city="Oslo")
    client, _ = sign_in(web_down)
    html = client.get(web_down.url(f"/carriers?q={token.upper()}&sort=-name"), timeout=10).text
    assert html.index(f"Sorted B {token}") < html.index(f"Sorted A {token}")
    assert "2 in total" in html
    assert 'aria-sort="descending"' in html

    export = client.get(web_down.url(f"/carriers.csv?q={token}"), timeout=10)
    assert export.headers["Content-Type"].startswith("text/csv")
    lines = export.text.splitlines()
    assert lines[0] == ("Name,Status,Currency,Balance,Gateways,Channels,CPS,Website,City,"
                        "Country,Created")
    assert len(lines) == 3
    assert lines[1].startswith(f"Sorted A {token},active,EUR,0.00,0,0,0,,'=CMD(),,")

    confirm = client.get(web_down.url(f"/carriers/{first}/delete"), timeout=10).text
    assert f"Delete carrier Sorted A {token}?" in confirm
    done = client.post(web_down.url(f"/carriers/{first}/delete"), timeout=10,
                       data={"csrf_token": csrf_token(confirm)}, allow_redirects=False)
    assert done.status_code == 302
    with web_down.sessions() as session:
        assert session.get(Carrier, first) is None
