"""The currencies page in real Chromium: the base currency, set and replace a rate,
field errors, CSV import with row errors (all or nothing), delete with confirmation
and its refusal while a customer card converts with the currency, and the viewer."""

from __future__ import annotations

import secrets

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from orchestrator.actor import SYSTEM
from orchestrator.carriers.service import create_carrier
from orchestrator.ratecards import customer_cards, exchange, provider_cards
from orchestrator.ratecards.models import ExchangeRate
from orchestrator.users.models import AdminUser
from orchestrator.users.service import create_user
from tests.web.helpers import WebApp, csrf_token, log_in, sign_in

pytestmark = pytest.mark.web

VIEWER = "fx-viewer"
VIEWER_PASSWORD = "viewer password 321"


def stored(web: WebApp, code: str) -> str | None:
    with web.sessions() as session:
        row = session.get(ExchangeRate, code)
        return row.per_base if row is not None else None


def test_set_replace_and_refuse_a_rate(page: Page, web_down: WebApp) -> None:
    log_in(page, web_down)
    page.get_by_role("link", name="Currencies").click()
    expect(page.get_by_test_id("base-currency")).to_have_text("USD")
    page.get_by_label("Currency", exact=True).fill("chf")
    page.get_by_label("Units per 1 USD").fill("0.8800")
    page.get_by_role("button", name="Set rate").click()
    expect(page.locator("tr[data-currency='CHF'] [data-col='per_base']")).to_have_text("0.88")
    page.get_by_label("Currency", exact=True).fill("CHF")
    page.get_by_label("Units per 1 USD").fill("0.9")
    page.get_by_role("button", name="Set rate").click()
    expect(page.locator("tr[data-currency='CHF'] [data-col='per_base']")).to_have_text("0.9")
    assert stored(web_down, "CHF") == "0.9"

    page.get_by_label("Currency", exact=True).fill("USD")
    page.get_by_label("Units per 1 USD").fill("-2")
    page.get_by_role("button", name="Set rate").click()
    expect(page.locator("[data-error-for='currency']")).to_contain_text("base currency")
    expect(page.locator("[data-error-for='per_base']")).to_contain_text("greater than 0")
    expect(page.get_by_label("Units per 1 USD")).to_have_value("-2")
    assert stored(web_down, "USD") is None


def test_csv_import_lists_row_errors_and_imports_nothing_then_all(
        page: Page, web_down: WebApp) -> None:
    log_in(page, web_down)
    page.goto(web_down.url("/currencies"))
    bad = b"currency,per_base\nSEK,10.5\nQQQ,1\nNOK,ten\n"
    page.locator("#f-rates-file").set_input_files(files=[{
        "name": "fx.csv", "mimeType": "text/csv", "buffer": bad}])
    page.get_by_role("button", name="Import rates").click()
    box = page.get_by_test_id("import-errors")
    expect(box).to_contain_text("Nothing was imported")
    rows = box.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("td")).to_have_text(["3", "currency", "'QQQ' is not an ISO 4217 "
                                                    "currency code (e.g. USD, EUR)"])
    expect(rows.nth(1).locator("td").nth(0)).to_have_text("4")
    expect(rows.nth(1).locator("td").nth(1)).to_have_text("per_base")
    assert stored(web_down, "SEK") is None

    good = b"SEK,10.5\nNOK,10.75\n"
    page.locator("#f-rates-file").set_input_files(files=[{
        "name": "fx.csv", "mimeType": "text/csv", "buffer": good}])
    page.get_by_role("button", name="Import rates").click()
    expect(page.get_by_role("status")).to_contain_text("2 exchange rates imported")
    expect(page.locator("tr[data-currency='NOK'] [data-col='per_base']")).to_have_text("10.75")
    assert stored(web_down, "SEK") == "10.5"


def test_delete_asks_first_and_is_refused_while_a_card_converts(
        page: Page, web_down: WebApp) -> None:
    web = web_down
    with web.sessions.begin() as session:
        exchange.set_rate(session, SYSTEM, "DKK", "6.9", "USD")
        exchange.set_rate(session, SYSTEM, "PLN", "4.1", "USD")
        carrier = create_carrier(session, SYSTEM, {"name": f"Krone {secrets.token_hex(3)}",
                                                   "currency": "DKK"})
        card = provider_cards.create_provider_card(session, SYSTEM, {
            "name": f"Krone card {secrets.token_hex(3)}", "carrier_id": carrier.id,
            "currency": "DKK"})
        customer_cards.create_customer_card(session, SYSTEM, {
            "name": f"Dollar card {secrets.token_hex(3)}", "currency": "USD",
            "parents": [{"provider_card_id": card.id}]}, base_currency="USD")
    log_in(page, web)
    page.goto(web.url("/currencies"))
    page.locator("tr[data-currency='PLN']").get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("PLN")
    page.get_by_role("link", name="Cancel").click()
    assert stored(web, "PLN") == "4.1"
    page.locator("tr[data-currency='PLN']").get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete PLN").click()
    expect(page.locator("tr[data-currency='PLN']")).to_have_count(0)
    assert stored(web, "PLN") is None

    page.locator("tr[data-currency='DKK']").get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete DKK").click()
    expect(page.get_by_test_id("delete-refused")).to_contain_text("convert with DKK")
    assert stored(web, "DKK") == "6.9"


def test_viewer_sees_rates_but_no_forms_and_cannot_post(page: Page, web_down: WebApp) -> None:
    web = web_down
    with web.sessions.begin() as session:
        if session.scalar(select(AdminUser).where(AdminUser.username == VIEWER)) is None:
            create_user(session, VIEWER, VIEWER_PASSWORD, role="viewer")
        exchange.set_rate(session, SYSTEM, "HUF", "350", "USD")
    log_in(page, web, VIEWER, VIEWER_PASSWORD)
    page.goto(web.url("/currencies"))
    expect(page.locator("tr[data-currency='HUF'] [data-col='per_base']")).to_have_text("350")
    expect(page.locator("form[method='post']:not([action$='/logout'])")).to_have_count(0)
    expect(page.get_by_role("link", name="Delete")).to_have_count(0)

    client, answer = sign_in(web, VIEWER, VIEWER_PASSWORD)
    assert answer.status_code == 302
    token = csrf_token(client.get(web.url("/currencies"), timeout=10).text)
    for path, form in {"/currencies": {"currency": "HUF", "per_base": "1"},
                       "/currencies/HUF/delete": {}}.items():
        answer = client.post(web.url(path), data=form | {"csrf_token": token}, timeout=10,
                             allow_redirects=False)
        assert answer.status_code == 403, path
    answer = client.post(web.url("/currencies/import"), data={"csrf_token": token},
                         files={"file": ("fx.csv", b"HUF,1\n")}, timeout=10,
                         allow_redirects=False)
    assert answer.status_code == 403
    assert stored(web, "HUF") == "350"
