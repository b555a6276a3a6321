"""The customer's balance statement page (from the detail page's Balance tab) and the
low-balance alert threshold in the customer form, in a real browser."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from playwright.sync_api import Page, expect

from orchestrator.actor import SYSTEM
from orchestrator.billing.balances import apply_charge_deltas
from orchestrator.customers import payments, service
from tests.support.cdrs import add_cdrs
from tests.web.helpers import WebApp, log_in

U = 10**8
_names = itertools.count(1)


def customer_with_history(web: WebApp) -> int:
    """Tax 10 %: 50 paid on Jan 1, 5.00 charged on Jan 2 (opening on the 5th: 44.50);
    on Jan 5: 20 paid, 7 pending, two calls 1.00 + 2.00 (running 61.20)."""
    with web.sessions.begin() as session:
        c = service.create_customer(session, SYSTEM, {
            "name": f"Balance web {next(_names)}", "currency": "EUR", "tax_percent": "10"})
        for amount, status, day in (("50", "completed", 1), ("20", "completed", 5),
                                    ("7", "pending", 5)):
            p = payments.add_payment(session, SYSTEM, c.id, {"amount": amount,
                                                             "status": status})
            p.created_at = datetime(2026, 1, day, 9, tzinfo=UTC)
        for charge, day in ((5 * U, 2), (U, 5), (2 * U, 5)):
            when = datetime(2026, 1, day, 12, tzinfo=UTC)
            add_cdrs(session, {"customer_id": c.id, "customer_charge": charge,
                               "duration_ms": 60_000, "rated_at": when, "start_at": when})
        apply_charge_deltas(session, {c.id: 8 * U})
        return c.id


def test_statement_page_from_the_balance_tab(web_down: WebApp, page: Page) -> None:
    cid = customer_with_history(web_down)
    log_in(page, web_down)
    page.goto(web_down.url(f"/customers/{cid}?tab=balance"))
    page.get_by_test_id("balance-statement-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Balance statement")
    # all time: 70 - 8 x 1.1 = 61.20
    expect(page.get_by_test_id("balance")).to_have_text("61.20 EUR")
    page.get_by_label("From").fill("2026-01-05")
    page.get_by_label("To (included)").fill("2026-01-06")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("opening")).to_have_text("44.50")
    expect(page.get_by_test_id("closing")).to_have_text("61.20")
    rows = page.get_by_test_id("statement-days").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td")).to_have_text(
        ["2026-01-05", "2", "2", "3.00", "0.30", "20.00", "61.20"])
    expect(page.get_by_test_id("pending-payments")).to_contain_text("7.00")
    expect(page.get_by_test_id("balance-chart").locator("polyline")).to_have_count(1)
    # a period that ends before it starts: said so, this month shown instead
    page.goto(web_down.url(f"/customers/{cid}/balance?from=2026-01-09&to=2026-01-01"))
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    expect(page.locator(".field-invalid")).to_contain_text("must not be after")


def test_low_balance_threshold_in_the_customer_form(web_down: WebApp, page: Page) -> None:
    cid = customer_with_history(web_down)
    log_in(page, web_down)
    page.goto(web_down.url(f"/customers/{cid}/edit"))
    page.get_by_label("Low balance alert").fill("x")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".field-invalid")).to_contain_text("decimal")
    page.get_by_label("Low balance alert").fill("12.5")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("low-balance-threshold")).to_have_text("12.5")
    page.goto(web_down.url(f"/customers/{cid}/edit"))
    expect(page.get_by_label("Low balance alert")).to_have_value("12.5")
    page.get_by_label("Low balance alert").fill("")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("low-balance-threshold")).to_have_text("none")
