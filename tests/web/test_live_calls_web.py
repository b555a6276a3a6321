"""The Live calls page in real Chromium, on the session data plane: a SIPp customer's
call through the real Kamailio and rtpengine appears by itself (auto refresh), and is
hung up after confirmation.

The page's web admin runs on the data plane's own model database (not the ``web``
fixture's), so that it names the customer and carrier the test created.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.integration.routing.conftest import Customer
from tests.support.carriers import CarrierFarm, customer_tag
from tests.support.dataplane import Dataplane
from tests.support.ports import free_port
from tests.support.rtp import call_id_of
from tests.support.sipp import requests_received
from tests.web.conftest import _serve
from tests.web.helpers import WebApp, log_in

pytestmark = pytest.mark.web


@pytest.fixture(scope="module")
def live_web(dataplane: Dataplane,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    settings = dataplane.settings.with_overrides(
        var_dir=tmp_path_factory.mktemp("live-web"), database_url=dataplane.settings.db_url,
        web_host="127.0.0.1", web_port=free_port())
    yield from _serve(settings)


@pytest.fixture
def farm(tmp_path: Path) -> Iterator[CarrierFarm]:
    with CarrierFarm(tmp_path / "carriers") as carriers:
        yield carriers


def test_a_call_appears_by_itself_and_is_hung_up_after_confirmation(
        page: Page, live_web: WebApp, dataplane: Dataplane, farm: CarrierFarm,
        tmp_path: Path) -> None:
    port = farm.add("good", "answer", media=1)
    w = dataplane.world()
    carrier = w.carrier([port])
    src = dataplane.source_ip()
    customer = w.customer(ips_=[src])
    w.route(customer, w.tariff([w.provider_card(carrier, {"44": "0.01"})]))
    w.commit()
    customer_id, customer_name, carrier_name = customer.id, customer.name, carrier.name
    w.close()
    dataplane.apply()

    log_in(page, live_web)
    page.get_by_role("link", name="Live calls").click()
    expect(page.get_by_role("heading", name="Live calls")).to_be_visible()
    page.goto(live_web.url(f"/calls?customer_id={customer_id}"))
    expect(page.get_by_test_id("no-calls")).to_contain_text("No calls in progress")
    expect(page.get_by_test_id("calls-filter")).to_contain_text(f"customer #{customer_id}")

    (tmp_path / "customer").mkdir()
    sipp = Customer(dataplane, tmp_path / "customer", src).start(
        "4420123457", hold_ms=60_000, media=True, caller="15551230002")
    try:
        call_id = call_id_of(sipp)
        # no reload: the page refreshes itself
        row = page.locator(f"tr[data-call-id='{call_id}']")
        expect(row).to_have_attribute("data-state", "answered")
        expect(row.locator("[data-field='customer']")).to_have_text(customer_name)
        expect(row.locator("[data-field='carrier']")).to_have_text(carrier_name)
        expect(row.locator("[data-field='caller']")).to_have_text("15551230002")
        expect(row.locator("[data-field='dialled']")).to_have_text("4420123457")
        expect(row.locator("[data-field='media']")).to_contain_text("proxy · flowing")

        # Cancel leaves the call up
        row.get_by_test_id("hangup").click()
        confirm = page.get_by_test_id("confirm")
        expect(confirm).to_contain_text("Hang up 15551230002 → 4420123457?")
        expect(confirm).to_contain_text(f"The answered call of {customer_name} on "
                                        f"{carrier_name}")
        page.get_by_role("link", name="Cancel").click()
        expect(page.locator(f"tr[data-call-id='{call_id}']")).to_have_count(1)
        assert sipp.proc is not None and sipp.proc.poll() is None

        page.locator(f"tr[data-call-id='{call_id}']").get_by_test_id("hangup").click()
        page.get_by_test_id("confirm-button").click()
        expect(page.get_by_role("status")).to_contain_text(
            "Call 15551230002 → 4420123457 hung up (BYE sent to both sides)")
        expect(page.locator(f"tr[data-call-id='{call_id}']")).to_have_count(0)
        result = sipp.result(timeout=15)
    finally:
        sipp.terminate()
    assert len(requests_received(result, "BYE")) == 1
    got = farm.report("good").call(customer_tag(result.messages))
    assert got is not None and got.bye is not None


def test_a_hang_up_of_a_call_that_ended_says_so(page: Page, live_web: WebApp) -> None:
    log_in(page, live_web)
    page.goto(live_web.url("/calls/999999.999999/hangup"))
    expect(page).to_have_url(live_web.url("/calls"))
    expect(page.get_by_role("status")).to_contain_text("call 999999.999999 not found")


def test_a_stopped_switch_is_named_on_the_page(page: Page, web_down: WebApp) -> None:
    log_in(page, web_down)
    page.goto(web_down.url("/calls"))
    expect(page.get_by_test_id("calls-error")).to_contain_text(
        "the switch (node local) could not be asked about its calls")
    expect(page.get_by_test_id("calls-error")).to_contain_text("connection refused")
    expect(page.get_by_test_id("no-calls")).to_have_count(0)
