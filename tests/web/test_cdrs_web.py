"""The CDR search and statistics pages in real Chromium: find a call by its number,
open it, export the search as CSV, then see the same call in the statistics table and
in the chart's SVG bars and points; bad filters and the empty state."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from orchestrator.actor import SYSTEM
from orchestrator.carriers.service import create_carrier
from orchestrator.customers.service import create_customer
from tests.support.cdrs import add_cdrs
from tests.web.helpers import WebApp, log_in

pytestmark = pytest.mark.web


def seed(web: WebApp) -> dict[str, object]:
    """A customer with two attempts 3 hours ago (one answered, 2 minutes, rated) and a
    failed one 5 hours ago; unique names and numbers so other tests do not interfere."""
    tag = secrets.token_hex(3)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    number = "4420" + str(int(tag, 16) % 10**6).rjust(6, "0")
    with web.sessions.begin() as session:
        customer = create_customer(session, SYSTEM, {"name": f"Web CDR {tag}",
                                                     "currency": "USD"})
        carrier = create_carrier(session, SYSTEM, {"name": f"Web Carrier {tag}",
                                                   "currency": "USD"})
        common = {"customer_id": customer.id, "carrier_id": carrier.id}
        made = add_cdrs(
            session,
            {"start_at": hour + timedelta(minutes=10), "duration_ms": 120_000,
             "dialled": number, "call_id": f"web-{tag}", "rated_at": hour,
             "sell_currency": "USD", "sell_charge": 250_000_000, "buy_currency": "USD",
             "buy_charge": 100_000_000, "profit": 150_000_000, "sell_prefix": "44",
             **common},
            {"start_at": hour + timedelta(minutes=20), "code": 486, "reason": "Busy Here",
             "dialled": "4930000", "call_id": f"web-busy-{tag}", **common},
            {"start_at": hour - timedelta(hours=2), "code": 503, "dialled": "4930001",
             "call_id": f"web-old-{tag}", **common})
        return {"customer": customer.id, "carrier": carrier.name, "name": customer.name,
                "number": number, "call_id": f"web-{tag}", "cdr_id": made[0].id,
                "bucket": (hour).strftime("%Y-%m-%d %H:00")}


def test_find_a_call_then_see_it_in_the_statistics(page: Page, web_down: WebApp) -> None:
    data = seed(web_down)
    log_in(page, web_down)
    page.get_by_role("link", name="CDRs", exact=True).click()
    expect(page).to_have_title("CDRs · Orchestrator")
    page.get_by_label("Dialled starts with").fill(str(data["number"])[:8])
    page.get_by_label("Customer").select_option(label=str(data["name"]))
    page.get_by_role("button", name="Search").click()
    rows = page.locator("[data-testid='cdr-results'] tbody tr")
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row.locator("[data-col='dialled']")).to_have_text(str(data["number"]))
    expect(row.locator("[data-col='result']")).to_have_text("200 OK")
    expect(row.locator("[data-col='duration']")).to_have_text("120.0")
    expect(row.locator("[data-col='sell']")).to_have_text("2.50 USD")
    expect(row.locator("[data-col='carrier']")).to_have_text(str(data["carrier"]))

    # the export link carries the same filters: one row, the same call
    with page.expect_download() as download:
        page.get_by_test_id("cdr-export").click()
    text = download.value.path().read_text(encoding="utf-8")
    exported = list(csv.DictReader(io.StringIO(text)))
    assert [r["call_id"] for r in exported] == [data["call_id"]]
    assert exported[0]["sell_charge"] == "2.50000000"

    row.locator("[data-col='start_at'] a").click()
    expect(page).to_have_url(web_down.url(f"/cdrs/{data['cdr_id']}"))
    detail = page.get_by_test_id("cdr-detail")
    expect(detail.locator("[data-field='call_id']")).to_have_text(str(data["call_id"]))
    expect(detail.locator("[data-field='profit']")).to_have_text("1.50 USD")

    page.get_by_role("link", name="Statistics", exact=True).click()
    page.get_by_label("Customer").select_option(label=str(data["name"]))
    page.get_by_label("Group by").select_option("customer")
    page.get_by_role("button", name="Show").click()
    stats_row = page.locator(f"[data-testid='stats-table'] tbody tr[data-key='{data['customer']}']")
    expect(stats_row.locator("[data-col='attempts']")).to_have_text("3")
    expect(stats_row.locator("[data-col='answered']")).to_have_text("1")
    expect(stats_row.locator("[data-col='asr']")).to_have_text("33.33")
    expect(stats_row.locator("[data-col='profit']")).to_have_text("1.50")
    # the charts: one bar pair and one point per hour of the last 24 hours
    traffic = page.locator("figure[data-chart='traffic'] svg")
    expect(traffic).to_have_attribute("data-points", "24")
    bucket = str(data["bucket"])
    answered = traffic.locator(f"rect[data-series='answered'][data-label='{bucket}']")
    expect(answered).to_have_attribute("data-value", "1")
    expect(traffic.locator(f"rect[data-series='attempts'][data-label='{bucket}']")
           ).to_have_attribute("data-value", "2")
    profit = page.locator(f"figure[data-chart='money'] circle[data-series='profit']"
                          f"[data-label='{bucket}']")
    expect(profit).to_have_attribute("data-value", "1.50000000")
    assert float(answered.get_attribute("height") or 0) > 0
    page.get_by_text("Chart data").click()
    expect(page.locator(f"[data-testid='chart-data'] tr[data-bucket='{bucket}'] "
                        "[data-col='attempts']")).to_have_text("2")


def test_bad_filters_and_empty_results(page: Page, web_down: WebApp) -> None:
    log_in(page, web_down)
    page.goto(web_down.url("/cdrs?from=2026-03-02T00:00&to=2026-03-01T00:00"))
    expect(page.locator("[data-error-for='from']")).to_contain_text("must be before to")
    expect(page.get_by_test_id("cdr-results")).to_have_count(0)
    page.goto(web_down.url("/cdrs?from=2001-01-01T00:00&to=2001-01-02T00:00"))
    expect(page.get_by_test_id("cdr-empty")).to_be_visible()
    page.goto(web_down.url("/cdrs?cursor=nonsense"))
    expect(page.locator("[data-error-for='cursor']")).to_contain_text("not a cursor")
    page.goto(web_down.url("/stats?group_by=planet"))
    expect(page.locator("[data-error-for='group_by']")).to_contain_text("not a grouping")
    page.goto(web_down.url("/stats?from=2001-01-01T00:00&to=2001-01-02T00:00"))
    expect(page.get_by_test_id("stats-empty")).to_be_visible()
