"""The Routing tab of the customer page in real Chromium: add, refuse, edit, delete, roles.

Routes are stored through orchestrator/routing/routes.py; the assertions read the
database as well as the page.
"""

from __future__ import annotations

import secrets

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from orchestrator.actor import SYSTEM
from orchestrator.carriers.service import create_carrier
from orchestrator.customers.service import create_customer
from orchestrator.ratecards import customer_cards
from orchestrator.ratecards.provider_cards import create_provider_card
from orchestrator.routing import routes
from orchestrator.routing.models import IngressRoute
from orchestrator.users.models import AdminUser
from orchestrator.users.service import create_user
from tests.web.helpers import WebApp, csrf_token, log_in, sign_in

pytestmark = pytest.mark.web

VIEWER = "rita-route-viewer"
VIEWER_PASSWORD = "route viewer password 1"


def unique(prefix: str) -> str:
    return f"{prefix} {secrets.token_hex(3)}"


def setup_customer(web: WebApp) -> tuple[int, int, str, int, str]:
    """A USD customer, a USD customer card (its tariff) and a provider card:
    (customer id, tariff id, tariff name, provider card id, provider card name)."""
    tariff_name, provider_name = unique("Retail USD"), unique("Wholesale Z")
    with web.sessions.begin() as session:
        carrier = create_carrier(session, SYSTEM, {"name": unique("Carrier"),
                                                   "currency": "USD"})
        provider = create_provider_card(session, SYSTEM, {
            "name": provider_name, "currency": "USD", "carrier_id": carrier.id})
        tariff = customer_cards.create_customer_card(session, SYSTEM, {
            "name": tariff_name, "currency": "USD",
            "parents": [{"provider_card_id": provider.id}]})
        customer = create_customer(session, SYSTEM, {"name": unique("Route Co"),
                                                     "currency": "USD"})
        return customer.id, tariff.id, tariff_name, provider.id, provider_name


def add_route(web: WebApp, customer_id: int, tariff_id: int, **fields: object) -> int:
    with web.sessions.begin() as session:
        return routes.create_route(session, SYSTEM, customer_id,
                                   {"tariff_id": tariff_id} | fields).id


def routes_of(web: WebApp, customer_id: int) -> list[IngressRoute]:
    with web.sessions() as session:
        return list(session.scalars(select(IngressRoute).where(
            IngressRoute.customer_id == customer_id).order_by(IngressRoute.id)))


def test_add_route_with_tech_prefix_and_two_line_dial_string(
        page: Page, web_down: WebApp) -> None:
    web = web_down
    customer_id, tariff_id, tariff_name, provider_id, provider_name = setup_customer(web)
    log_in(page, web)
    page.goto(web.url(f"/customers/{customer_id}"))
    page.get_by_role("link", name="Routing", exact=True).click()
    expect(page.get_by_text("No ingress routes")).to_be_visible()
    page.get_by_label("Tariff").select_option(label=tariff_name)
    page.get_by_label("Tech prefix").fill("1234")
    page.get_by_label("Dial string").fill("44\n^1(204|226)")
    page.get_by_label("Priority").fill("5")
    page.get_by_label("Channels").fill("20")
    page.get_by_label("Lock cards").select_option(label=provider_name)
    page.get_by_label("SIP ping").select_option("both")
    page.get_by_role("button", name="Add route").click()

    row = page.get_by_test_id("route-table").locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("[data-col='tech_prefix']")).to_have_text("1234")
    expect(row.locator("[data-col='tariff']")).to_have_text(tariff_name)
    expect(row.locator("[data-col='dial_lines']")).to_have_text("2 lines")
    expect(row.locator("[data-col='priority']")).to_have_text("5")
    expect(row.locator("[data-col='limits']")).to_contain_text("20 ch")
    expect(row.locator("[data-col='enabled']")).to_have_text("yes")
    [stored] = routes_of(web, customer_id)
    assert stored.tariff_id == tariff_id
    assert stored.tech_prefix == "1234"
    assert stored.dial_string == "44\n^1(204|226)"
    assert stored.lock_cards == [provider_id]
    assert stored.sip_ping == "both"
    assert stored.enabled is True and stored.strategy is None


def test_bad_regex_line_is_shown_inline_and_creates_nothing(
        page: Page, web_down: WebApp) -> None:
    web = web_down
    customer_id, _, tariff_name, _, _ = setup_customer(web)
    log_in(page, web)
    page.goto(web.url(f"/customers/{customer_id}?tab=routes"))
    page.get_by_label("Tariff").select_option(label=tariff_name)
    page.get_by_label("Tech prefix").fill("77")
    page.get_by_label("Dial string").fill("44\n^1(204")
    page.get_by_role("button", name="Add route").click()

    error = page.locator("[data-error-for='dial_string']")
    expect(error).to_contain_text("line 2")
    expect(error).to_contain_text("'^1(204'")
    expect(page.get_by_label("Dial string")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Dial string")).to_have_value("44\n^1(204")
    expect(page.get_by_label("Tech prefix")).to_have_value("77")
    expect(page.get_by_test_id("route-table")).to_have_count(0)
    assert routes_of(web, customer_id) == []


def test_edit_route_priority(page: Page, web_down: WebApp) -> None:
    web = web_down
    customer_id, tariff_id, _, _, _ = setup_customer(web)
    route_id = add_route(web, customer_id, tariff_id, tech_prefix="99", priority=3,
                         dial_string="33")
    log_in(page, web)
    page.goto(web.url(f"/customers/{customer_id}?tab=routes"))
    page.get_by_role("link", name=f"Edit route {route_id}").click()
    expect(page.get_by_label("Priority")).to_have_value("3")
    expect(page.get_by_label("Dial string")).to_have_value("33")
    page.get_by_label("Priority").fill("12")
    page.get_by_role("button", name="Save route").click()

    row = page.locator(f"tr[data-route-id='{route_id}']")
    expect(row.locator("[data-col='priority']")).to_have_text("12")
    [stored] = routes_of(web, customer_id)
    assert stored.priority == 12
    assert stored.tech_prefix == "99" and stored.dial_string == "33"


def test_delete_route_after_confirmation(page: Page, web_down: WebApp) -> None:
    web = web_down
    customer_id, tariff_id, _, _, _ = setup_customer(web)
    route_id = add_route(web, customer_id, tariff_id, tech_prefix="55")
    log_in(page, web)
    page.goto(web.url(f"/customers/{customer_id}?tab=routes"))
    page.get_by_role("link", name=f"Delete route {route_id}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"route {route_id}")
    assert len(routes_of(web, customer_id)) == 1  # asking deletes nothing
    page.get_by_role("button", name=f"Delete route {route_id}").click()

    expect(page.get_by_text("No ingress routes")).to_be_visible()
    assert routes_of(web, customer_id) == []


def test_viewer_sees_routes_read_only_and_cannot_post(page: Page, web_down: WebApp) -> None:
    web = web_down
    with web.sessions.begin() as session:
        if session.scalar(select(AdminUser).where(AdminUser.username == VIEWER)) is None:
            create_user(session, VIEWER, VIEWER_PASSWORD, role="viewer")
    customer_id, tariff_id, tariff_name, _, _ = setup_customer(web)
    route_id = add_route(web, customer_id, tariff_id, tech_prefix="42", priority=4)
    log_in(page, web, VIEWER, VIEWER_PASSWORD)
    page.goto(web.url(f"/customers/{customer_id}?tab=routes"))
    row = page.locator(f"tr[data-route-id='{route_id}']")
    expect(row.locator("[data-col='tariff']")).to_have_text(tariff_name)
    expect(page.get_by_role("link", name=f"Edit route {route_id}")).to_have_count(0)
    expect(page.get_by_role("link", name=f"Delete route {route_id}")).to_have_count(0)
    expect(page.get_by_role("button", name="Add route")).to_have_count(0)
    expect(page.locator(".tab-panel form")).to_have_count(0)

    client, answer = sign_in(web, VIEWER, VIEWER_PASSWORD)
    assert answer.status_code == 302
    token = csrf_token(client.get(web.url("/customers"), timeout=10).text)
    base = web.url(f"/customers/{customer_id}/routes")
    added = client.post(base, timeout=10, allow_redirects=False, data={
        "csrf_token": token, "tariff_id": str(tariff_id), "tech_prefix": "43"})
    assert added.status_code == 403
    edited = client.post(f"{base}/{route_id}/edit", timeout=10, allow_redirects=False,
                         data={"csrf_token": token, "priority": "9"})
    assert edited.status_code == 403
    deleted = client.post(f"{base}/{route_id}/delete", timeout=10, allow_redirects=False,
                          data={"csrf_token": token})
    assert deleted.status_code == 403
    with web.sessions() as session:
        assert session.scalar(select(func.count()).select_from(IngressRoute).where(
            IngressRoute.customer_id == customer_id)) == 1
        assert session.get(IngressRoute, route_id).priority == 4  # type: ignore[union-attr]
