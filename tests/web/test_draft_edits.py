"""Editing a draft in real Chromium: make a draft copy, edit/add/delete a rate, transform
(multiply 1.1 on ^44) with a preview count, see the new rates; the active revision is
untouched. Customer cards get the same pages; viewers see none of it and get 403."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from orchestrator.actor import SYSTEM
from orchestrator.carriers.service import create_carrier
from orchestrator.ratecards import customer_cards, provider_cards, revisions
from orchestrator.ratecards.models import Rate, RateRevision
from orchestrator.users.models import AdminUser
from orchestrator.users.service import create_user
from tests.web.helpers import WebApp, csrf_token, log_in, sign_in

pytestmark = pytest.mark.web

VIEWER = "draft-viewer"
VIEWER_PASSWORD = "viewer password 456"
ROWS = [("33", "France", 1_500_000), ("44", "UK", 1_000_000),
        ("4420", "UK London", 2_000_000)]


def unique(prefix: str) -> str:
    return f"{prefix} {secrets.token_hex(3)}"


def card_with_active(web: WebApp, kind: str = "provider") -> tuple[int, int]:
    """A card with an active revision of ROWS: (card id, active revision id)."""
    with web.sessions.begin() as session:
        carrier = create_carrier(session, SYSTEM, {"name": unique("Draft Carrier"),
                                                   "currency": "EUR"})
        card: provider_cards.ProviderCard | customer_cards.CustomerCard = \
            provider_cards.create_provider_card(session, SYSTEM, {
                "name": unique("Draft Card"), "carrier_id": carrier.id, "currency": "EUR"})
        if kind == "customer":
            card = customer_cards.create_customer_card(session, SYSTEM, {
                "name": unique("Draft Retail"), "currency": "EUR", "external": True,
                "parents": [{"provider_card_id": card.id}]})
        revision = revisions.new_revision(session, card, "test")
        for prefix, name, rate in ROWS:
            session.add(Rate(revision_id=revision.id, prefix=prefix, name=name, rate=rate))
        revision.row_count = len(ROWS)
        session.flush()
        revisions.activate(session, SYSTEM, card, revision.id)
        return card.id, revision.id


def rates_of(web: WebApp, revision_id: int) -> dict[str, int]:
    with web.sessions() as session:
        return {p: r for p, r in session.execute(select(Rate.prefix, Rate.rate).where(
            Rate.revision_id == revision_id))}


def rate_cell(page: Page, prefix: str) -> object:
    return page.get_by_test_id("rates-table").locator(
        f"tr[data-prefix='{prefix}'] [data-col='rate']")


def test_draft_copy_edit_add_transform_delete(page: Page, web_down: WebApp) -> None:
    web = web_down
    card_id, active_id = card_with_active(web)
    log_in(page, web)
    page.goto(web.url(f"/provider-cards/{card_id}?tab=rates"))
    expect(page.get_by_test_id("draft-tools")).to_have_count(0)  # the active revision
    expect(page.get_by_test_id("edit-rate")).to_have_count(0)

    page.goto(web.url(f"/provider-cards/{card_id}?tab=revisions"))
    page.get_by_role("button", name="New draft copy of the active revision").click()
    expect(page.get_by_role("status")).to_contain_text("Draft revision 2 created")
    draft_row = page.locator("tr[data-revision-number='2']")
    expect(draft_row.get_by_test_id("revision-state")).to_have_text("draft")
    draft_row.get_by_role("link", name="2", exact=True).click()
    expect(page).to_have_url(re.compile(r"tab=rates&revision=\d+"))
    draft_id = int(re.search(r"revision=(\d+)", page.url).group(1))  # type: ignore[union-attr]

    # Edit one rate.
    page.get_by_test_id("rates-table").locator("tr[data-prefix='4420']").get_by_test_id(
        "edit-rate").click()
    expect(page.get_by_test_id("rate-prefix")).to_have_text("4420")
    expect(page.locator("#f-rate")).to_have_value("0.02")
    page.locator("#f-rate").fill("0.03x")
    page.get_by_role("button", name="Save rate").click()
    expect(page.get_by_test_id("refusal")).to_contain_text("rate: is not a number")
    page.locator("#f-rate").fill("0.03")
    page.get_by_role("button", name="Save rate").click()
    expect(page.get_by_role("status")).to_contain_text("Rate 4420 of draft revision 2 saved")
    expect(rate_cell(page, "4420")).to_have_text("0.0300")

    # Add a rate from the Rates tab.
    form = page.get_by_test_id("add-rate-form")
    form.get_by_label("Prefix").fill("4479")
    form.get_by_label("Destination").fill("UK Mobile")
    form.get_by_label("Rate").fill("0.04")
    form.get_by_role("button", name="Add rate").click()
    expect(page.get_by_role("status")).to_contain_text("Rate 4479 added")
    expect(rate_cell(page, "4479")).to_have_text("0.0400")

    # Transform: multiply by 1.1 every prefix starting with 44, after a preview.
    page.get_by_test_id("transform-link").click()
    page.get_by_label("Prefix pattern").fill("^44")
    page.get_by_label("Change", exact=True).select_option("multiply_rate")
    page.get_by_label("Value").fill("1.1")
    page.get_by_test_id("preview-button").click()
    expect(page.get_by_test_id("preview-count")).to_have_text("3")
    preview = page.get_by_test_id("preview-table")
    expect(preview.locator("tbody tr")).to_have_count(3)
    expect(preview.locator("tr[data-prefix='4420'] [data-col='before']")).to_have_text("0.03")
    expect(preview.locator("tr[data-prefix='4420'] [data-col='after']")).to_have_text("0.033")
    assert rates_of(web, draft_id)["44"] == 1_000_000  # the preview changed nothing
    page.get_by_test_id("apply-button").click()
    expect(page.get_by_role("status")).to_contain_text("3 rates of draft revision 2 changed")
    expect(rate_cell(page, "44")).to_have_text("0.0110")
    expect(rate_cell(page, "4420")).to_have_text("0.0330")
    expect(rate_cell(page, "4479")).to_have_text("0.0440")
    expect(rate_cell(page, "33")).to_have_text("0.0150")

    # Delete a rate after the confirmation page.
    page.get_by_test_id("rates-table").locator("tr[data-prefix='33']").get_by_test_id(
        "delete-rate").click()
    expect(page.get_by_test_id("confirm")).to_contain_text("Delete rate 33")
    page.get_by_test_id("confirm-button").click()
    expect(page.get_by_role("status")).to_contain_text("Rate 33 deleted")
    expect(page.get_by_test_id("rates-table").locator("tr[data-prefix='33']")).to_have_count(0)

    assert rates_of(web, draft_id) == {"44": 1_100_000, "4420": 3_300_000,
                                       "4479": 4_400_000}
    assert rates_of(web, active_id) == {p: r for p, _, r in ROWS}
    with web.sessions() as session:
        draft = session.get(RateRevision, draft_id)
        assert draft is not None and draft.row_count == 3 and draft.state == "draft"


def test_customer_card_draft_edit_and_stale_preview(page: Page, web_down: WebApp) -> None:
    web = web_down
    card_id, _ = card_with_active(web, "customer")
    with web.sessions.begin() as session:
        card = customer_cards.get_customer_card(session, SYSTEM, card_id)
        draft_id = revisions.create_draft_copy(session, SYSTEM, card).id
    log_in(page, web)
    page.goto(web.url(f"/customer-cards/{card_id}?tab=rates&revision={draft_id}"))
    page.get_by_test_id("rates-table").locator("tr[data-prefix='44']").get_by_test_id(
        "edit-rate").click()
    page.get_by_label("Status").select_option("blocked")
    page.get_by_role("button", name="Save rate").click()
    expect(page.get_by_role("status")).to_contain_text("Rate 44 of draft revision 2 saved")
    expect(page.get_by_test_id("rates-table").locator("tr[data-prefix='44']")).to_have_class(
        "rate-blocked")

    page.get_by_test_id("transform-link").click()
    page.get_by_label("Destination contains").fill("uk")
    page.get_by_label("Change", exact=True).select_option("set_rate")
    page.get_by_label("Value").fill("0.5")
    page.get_by_test_id("preview-button").click()
    expect(page.get_by_test_id("preview-count")).to_have_text("2")
    # The filter changed after the preview: applying is refused until previewed again.
    page.get_by_label("Destination contains").fill("london")
    page.get_by_test_id("apply-button").click()
    expect(page.get_by_test_id("refusal")).to_contain_text("preview again")
    assert rates_of(web, draft_id)["4420"] == 2_000_000
    page.get_by_test_id("preview-button").click()
    expect(page.get_by_test_id("preview-count")).to_have_text("1")
    page.get_by_test_id("apply-button").click()
    expect(page.get_by_role("status")).to_contain_text("1 rate of draft revision 2 changed")
    assert rates_of(web, draft_id) == {"33": 1_500_000, "44": 1_000_000,
                                       "4420": 50_000_000}


def test_viewer_sees_no_draft_editing_and_gets_403(page: Page, web_down: WebApp) -> None:
    web = web_down
    with web.sessions.begin() as session:
        if session.scalar(select(AdminUser).where(AdminUser.username == VIEWER)) is None:
            create_user(session, VIEWER, VIEWER_PASSWORD, role="viewer")
    card_id, _ = card_with_active(web)
    with web.sessions.begin() as session:
        card = provider_cards.get_provider_card(session, SYSTEM, card_id)
        draft_id = revisions.create_draft_copy(session, SYSTEM, card).id
    log_in(page, web, VIEWER, VIEWER_PASSWORD)
    page.goto(web.url(f"/provider-cards/{card_id}?tab=rates&revision={draft_id}"))
    expect(page.get_by_test_id("rates-table").locator("tbody tr")).to_have_count(3)
    expect(page.get_by_test_id("draft-tools")).to_have_count(0)
    expect(page.get_by_test_id("edit-rate")).to_have_count(0)

    client, answer = sign_in(web, VIEWER, VIEWER_PASSWORD)
    assert answer.status_code == 302
    token = csrf_token(client.get(web.url("/provider-cards"), timeout=10).text)
    base = f"/provider-cards/{card_id}/revisions/{draft_id}"
    for path, form in {f"{base}/rates/new": {"prefix": "7", "rate": "1"},
                       f"{base}/rates/44/edit": {"rate": "9"},
                       f"{base}/rates/44/delete": {},
                       f"{base}/transform": {"change_type": "set_rate", "value": "9",
                                             "action": "apply", "previewed": "3"}}.items():
        answer = client.post(web.url(path), data=form | {"csrf_token": token}, timeout=10,
                             allow_redirects=False)
        assert answer.status_code == 403, path
    assert client.get(web.url(f"{base}/transform"), timeout=10).status_code == 403
    assert rates_of(web, draft_id) == {p: r for p, _, r in ROWS}
