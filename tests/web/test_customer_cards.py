"""Customer rate card pages in real Chromium: create a card with a parent, add a profit
rule, build it in the background and read the sell rates; a bad regular expression in
a rule; the Changes tab after a raised parent rate; field errors of the card form;
the viewer role.

The rates of the provider card are written through the deck pipeline (read, validate,
store) as an import would; builds run on the in-process job worker of conftest.py.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from datetime import timedelta
from decimal import ROUND_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from orchestrator.actor import SYSTEM
from orchestrator.carriers.service import create_carrier
from orchestrator.jobs import service as jobs
from orchestrator.ratecards import customer_cards, imports, profit_rules, revisions
from orchestrator.ratecards.deck.mapping import Mapping
from orchestrator.ratecards.deck.reader import read_deck
from orchestrator.ratecards.deck.store import write_rates
from orchestrator.ratecards.deck.validate import validate
from orchestrator.ratecards.models import CustomerCard, ProfitRule, ProviderCard, RateRevision
from orchestrator.ratecards.provider_cards import create_provider_card
from orchestrator.users.models import AdminUser
from orchestrator.users.service import create_user
from tests.web.helpers import WebApp, csrf_token, log_in, sign_in

pytestmark = pytest.mark.web

VIEWER = "cora-card-viewer"
VIEWER_PASSWORD = "viewer password 789"
# The provider card's rates per minute (USD), as a carrier's deck would list them.
DECK = {"44": ("United Kingdom", "0.0123"), "4420": ("UK London", "0.0101"),
        "33": ("France", "0.0207")}
MARKUP = Decimal("10")  # percent
PRECISION = 4


def unique(prefix: str) -> str:
    return f"{prefix} {secrets.token_hex(3)}"


def sell(cost: str, percent: Decimal = MARKUP, places: int = PRECISION) -> str:
    """cost x (1 + percent/100), rounded up (away from zero) to ``places`` decimals."""
    value = Decimal(cost) * (100 + percent) / 100
    return str(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_UP))


def store_revision(web: WebApp, provider_id: int, deck: dict[str, tuple[str, str]]) -> int:
    """Import ``deck`` as a new active revision of the provider card; its id."""
    lines = ["prefix,name,rate"] + [f"{p},{n},{r}" for p, (n, r) in deck.items()]
    checked = validate(read_deck("\n".join(lines).encode()),
                       Mapping({"prefix": "prefix", "name": "name", "rate": "rate"}, 2))
    assert checked.frame is not None, checked.errors
    with web.sessions.begin() as session:
        card = session.get(ProviderCard, provider_id)
        assert card is not None
        revision = revisions.new_revision(session, card, "test deck")
        write_rates(session.connection(), revision.id, checked.frame)
        revision.row_count = checked.frame.height
        revisions.activate(session, SYSTEM, card, revision.id)
        return revision.id


def add_provider(web: WebApp, deck: dict[str, tuple[str, str]] | None = None
                 ) -> tuple[int, str]:
    """A carrier and its provider card with an active revision: (card id, card name)."""
    name = unique("Wholesale A-Z")
    with web.sessions.begin() as session:
        carrier = create_carrier(session, SYSTEM, {"name": unique("Carrier"),
                                                   "currency": "USD"})
        card = create_provider_card(session, SYSTEM, {"name": name, "currency": "USD",
                                                      "carrier_id": carrier.id})
        provider_id = card.id
    store_revision(web, provider_id, deck or DECK)
    return provider_id, name


def add_customer_card(web: WebApp, provider_id: int, **fields: Any) -> int:
    with web.sessions.begin() as session:
        card = customer_cards.create_customer_card(session, SYSTEM, {
            "name": unique("Retail"), "currency": "USD",
            "parents": [{"provider_card_id": provider_id}]} | fields)
        return card.id


def add_rule(web: WebApp, card_id: int, **fields: str) -> int:
    with web.sessions.begin() as session:
        return profit_rules.add_rule(session, SYSTEM, card_id, {
            "type": "percent", "value": str(MARKUP)} | fields).id


def build_now(web: WebApp, card_id: int) -> dict[str, Any]:
    """Build through the service and the worker; the job's result for the card."""
    with web.sessions.begin() as session:
        job_id = imports.start_build(session, SYSTEM, card_id, activate=True).id
    job = jobs.wait_for(web.sessions, job_id, timeout=60)
    assert job.state == "done", (job.message, job.errors)
    assert job.result is not None
    built: dict[str, Any] = job.result["built"][0]
    return built


def test_create_card_add_rule_build_and_read_the_sell_rates(
        page: Page, web_down: WebApp, jobs_worker: object) -> None:
    web = web_down
    provider_id, provider_name = add_provider(web)
    name = unique("Retail Gold")
    log_in(page, web)
    page.get_by_role("link", name="Customer cards").click()
    page.get_by_test_id("add-customer-card").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Currency").fill("usd")
    page.get_by_label("Precision").fill(str(PRECISION))
    page.get_by_label("Rounding").select_option("up")
    page.get_by_label("Provider card of row 1").select_option(str(provider_id))
    page.get_by_role("button", name="Add customer card").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    expect(page.get_by_test_id("parents-table")).to_contain_text(provider_name)
    expect(page.get_by_test_id("active-revision")).to_have_text("none")

    page.get_by_role("link", name="Profit rules").click()
    expect(page.get_by_test_id("rules-empty")).to_be_visible()
    form = page.get_by_test_id("add-rule-form")
    form.get_by_label("Type").select_option("percent")
    form.get_by_label("Value").fill(str(MARKUP))
    form.get_by_role("button", name="Add rule").click()
    rows = page.get_by_test_id("rules-table").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("(every prefix)")
    expect(rows.first).to_contain_text("10 %")

    page.get_by_role("link", name="Main").click()
    page.get_by_test_id("build-button").click()
    expect(page).to_have_url(re.compile(r"/jobs/\d+"))
    expect(page.get_by_test_id("job-done")).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("job-state")).to_have_text("done")
    page.get_by_test_id("job-result").click()

    expect(page.get_by_test_id("rates-revision")).to_contain_text("Revision 1 (active")
    page.evaluate("window.notReloaded = true")
    page.get_by_test_id("rates-search").press_sequentially("44", delay=30)
    table = page.get_by_test_id("rates-table")
    expect(table.locator("tbody tr")).to_have_count(2)  # 44 and 4420, not 33
    expect(page).to_have_url(re.compile(r"q=44"))
    assert page.evaluate("window.notReloaded") is True, "the page was reloaded"
    uk = table.locator("tr[data-prefix='44']")
    expect(uk.locator("td[data-col='rate']")).to_have_text(sell(DECK["44"][1]))
    expect(uk.locator("td[data-col='candidates']")).to_have_text(
        f"{provider_name}: {DECK['44'][1]}")
    london = table.locator("tr[data-prefix='4420']")
    expect(london.locator("td[data-col='rate']")).to_have_text(sell(DECK["4420"][1]))

    page.get_by_role("link", name="Routing", exact=True).click()
    page.get_by_label("Number").fill("442079460000")
    page.get_by_role("button", name="Look up").click()
    expect(page.get_by_test_id("route-prefix")).to_have_text("4420")
    expect(page.get_by_test_id("route-candidates")).to_have_text(
        f"{provider_name}: {DECK['4420'][1]} USD")
    page.get_by_label("Number").fill("12345")
    page.get_by_role("button", name="Look up").click()
    expect(page.get_by_test_id("route-error")).to_contain_text("No prefix")


def test_bad_regex_in_a_rule_shows_the_field_error_and_keeps_the_rule(
        page: Page, web_down: WebApp) -> None:
    web = web_down
    provider_id, _ = add_provider(web)
    card_id = add_customer_card(web, provider_id)
    rule_id = add_rule(web, card_id, match="^44")
    log_in(page, web)
    page.goto(web.url(f"/customer-cards/{card_id}?tab=rules"))
    row = page.locator(f"tr[data-rule-id='{rule_id}']")
    row.get_by_role("link", name="Edit").click()
    row.get_by_label("Match").fill("^4(4")
    row.get_by_role("button", name="Save rule").click()
    expect(page.locator("[data-error-for='match']")).to_contain_text(
        "nor a valid regular expression")
    expect(row.get_by_label("Match")).to_have_value("^4(4")  # what was typed stays
    expect(row.get_by_label("Match")).to_have_attribute("aria-invalid", "true")
    with web.sessions() as session:
        rule = session.get(ProfitRule, rule_id)
        assert rule is not None and rule.match == "^44"

    row.get_by_label("Match").fill("^4(4|3)")
    row.get_by_role("button", name="Save rule").click()
    expect(page.get_by_text("Profit rule saved.")).to_be_visible()
    expect(page.locator(f"tr[data-rule-id='{rule_id}']")).to_contain_text("^4(4|3)")


def test_second_build_after_a_raised_parent_rate_shows_the_increase(
        page: Page, web_down: WebApp, jobs_worker: object) -> None:
    web = web_down
    provider_id, _ = add_provider(web)
    card_id = add_customer_card(web, provider_id, notice_days=7)
    add_rule(web, card_id)
    first = build_now(web, card_id)
    assert first["state"] == "active"
    raised = dict(DECK) | {"44": ("United Kingdom", "0.0150")}
    store_revision(web, provider_id, raised)

    log_in(page, web)
    page.goto(web.url("/customer-cards"))
    row = page.locator(f"tr[data-row-id='{card_id}']")
    expect(row.locator("td[data-col='stale']")).to_have_text("stale")
    row.get_by_role("link").first.click()
    expect(page.get_by_test_id("stale-warning")).to_be_visible()
    page.get_by_test_id("build-button").click()
    expect(page.get_by_test_id("job-done")).to_be_visible(timeout=30_000)
    # An increase may not go live inside the notice period: the revision stays a draft.
    expect(page.get_by_test_id("job-done")).to_contain_text("left as a draft")
    page.get_by_role("link", name="Back to the customer card").click()
    expect(page.get_by_test_id("stale-warning")).to_have_count(0)

    page.get_by_role("link", name="Changes").click()
    expect(page.get_by_test_id("changes-baseline")).to_contain_text(
        "Revision 2 (draft) compared with revision 1")
    expect(page.get_by_test_id("notice-until")).to_be_visible()
    expect(page.get_by_test_id("count-increase")).to_have_text("1")
    expect(page.get_by_test_id("count-unchanged")).to_have_text("2")
    page.get_by_test_id("change-chips").locator("[data-kind='increase']").click()
    rows = page.get_by_test_id("changes-table").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-prefix", "44")
    expect(rows.first).to_have_class(re.compile("change-increase"))
    expect(rows.first).to_contain_text(sell(DECK["44"][1]))
    expect(rows.first).to_contain_text(sell("0.0150"))

    page.get_by_role("link", name="Revisions").click()
    for state, cost in (("active", DECK["44"][1]), ("draft", "0.0150")):
        with page.expect_download() as download:
            page.locator(f"tr[data-state='{state}']").get_by_role("link", name="CSV").click()
        exported = Path(download.value.path()).read_text(encoding="utf-8")
        by_prefix = {r["prefix"]: r for r in csv.DictReader(io.StringIO(exported))}
        assert Decimal(by_prefix["44"]["rate"]) == Decimal(sell(cost)), state
    draft = page.locator("tr[data-state='draft']")
    draft.get_by_role("link", name="Activate").click()
    page.get_by_test_id("confirm-button").click()
    with web.sessions() as session:
        card = session.get(CustomerCard, card_id)
        assert card is not None
        active = revisions.active_revision(session, card)
        assert active is not None and active.number == 1
        built = session.scalar(select(RateRevision).where(
            RateRevision.customer_card_id == card_id, RateRevision.number == 2))
        assert built is not None and built.state == "draft"
        earliest = built.created_at + timedelta(days=7)
    expect(page.get_by_test_id("refusal")).to_contain_text(
        f"may go live from {earliest.date().isoformat()}")


def test_card_form_shows_field_errors_and_edits_parents(page: Page, web_down: WebApp) -> None:
    web = web_down
    provider_id, provider_name = add_provider(web)
    other_id, other_name = add_provider(web)
    name = unique("Errors Card")
    log_in(page, web)
    page.goto(web.url("/customer-cards/new"))
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Currency").fill("USD")
    page.get_by_label("Precision").fill("12")
    page.get_by_label("Notice days").fill("-1")
    page.get_by_label("Provider card of row 1").select_option(str(provider_id))
    page.get_by_test_id("add-parent").click()
    page.get_by_label("Provider card of row 2").select_option(str(other_id))
    page.get_by_label("Weight of row 2").fill("500")
    page.get_by_role("button", name="Add customer card").click()
    expect(page.locator("[data-error-for='precision']")).to_contain_text("between 0 and 8")
    expect(page.locator("[data-error-for='notice_days']")).to_be_visible()
    expect(page.locator("[data-error-for='parents[1].weight']")).to_contain_text(
        "between 1 and 100")
    expect(page.get_by_label("Provider card of row 2")).to_have_value(str(other_id))
    with web.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CustomerCard).where(
            CustomerCard.name == name)) == 0

    page.get_by_label("Precision").fill("3")
    page.get_by_label("Notice days").fill("0")
    page.get_by_label("Weight of row 2").fill("5")
    page.get_by_label("Priority of row 2").fill("1")
    page.get_by_role("button", name="Add customer card").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    parents = page.get_by_test_id("parents-table").locator("tbody tr")
    expect(parents).to_have_count(2)
    expect(parents.nth(1)).to_contain_text(other_name)

    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_test_id("currency-fixed")).to_contain_text("USD")
    page.get_by_test_id("remove-parent").first.click()
    page.get_by_role("button", name="Save").click()
    parents = page.get_by_test_id("parents-table").locator("tbody tr")
    expect(parents).to_have_count(1)
    expect(parents.first).to_contain_text(other_name)
    with web.sessions() as session:
        card = session.scalar(select(CustomerCard).where(CustomerCard.name == name))
        assert card is not None and card.precision == 3
        assert [(p.provider_card_id, p.weight, p.priority) for p in card.parents] == [
            (other_id, 5, 1)]
    assert provider_name not in parents.first.inner_text()


def test_viewer_sees_no_controls_and_cannot_post(page: Page, web_down: WebApp) -> None:
    web = web_down
    with web.sessions.begin() as session:
        if session.scalar(select(AdminUser).where(AdminUser.username == VIEWER)) is None:
            create_user(session, VIEWER, VIEWER_PASSWORD, role="viewer")
    provider_id, _ = add_provider(web)
    card_id = add_customer_card(web, provider_id)
    rule_id = add_rule(web, card_id)
    with web.sessions.begin() as session:
        card = session.get(CustomerCard, card_id)
        assert card is not None
        draft_id = revisions.create_draft_copy(session, SYSTEM, card).id

    log_in(page, web, VIEWER, VIEWER_PASSWORD)
    page.goto(web.url("/customer-cards"))
    expect(page.locator(f"tr[data-row-id='{card_id}']")).to_be_visible()
    expect(page.get_by_test_id("add-customer-card")).to_have_count(0)
    expect(page.get_by_test_id("build-stale")).to_have_count(0)
    for tab in ("main", "rules", "revisions", "rates", "changes", "routing"):
        page.goto(web.url(f"/customer-cards/{card_id}?tab={tab}"))
        expect(page.get_by_role("heading", level=1)).to_contain_text("Retail")
        expect(page.get_by_test_id("edit-controls")).to_have_count(0)
        expect(page.locator("form[method='post']:not([action$='/logout'])")).to_have_count(0)
    expect(page.get_by_test_id("build-button")).to_have_count(0)

    client, answer = sign_in(web, VIEWER, VIEWER_PASSWORD)
    assert answer.status_code == 302
    token = csrf_token(client.get(web.url("/customer-cards"), timeout=10).text)
    base = f"/customer-cards/{card_id}"
    posts = {f"{base}/build": {}, "/customer-cards/build-stale": {},
             f"{base}/rules": {"match": "", "type": "percent", "value": "50",
                               "status": "profit"},
             f"{base}/rules/{rule_id}": {"match": "^9", "type": "percent", "value": "1",
                                         "status": "profit"},
             f"{base}/rules/{rule_id}/delete": {},
             f"{base}/rules/{rule_id}/move": {"direction": "down"},
             f"{base}/rules/import": {},
             f"{base}/revisions/{draft_id}/activate": {},
             f"{base}/revisions/{draft_id}/schedule": {"date_live": "2030-01-01T00:00"},
             f"{base}/revisions/{draft_id}/delete": {},
             f"{base}/edit": {"name": "Renamed"},
             f"{base}/delete": {},
             "/customer-cards/new": {"name": unique("Sneaky"), "currency": "USD"}}
    for path, form in posts.items():
        refused = client.post(web.url(path), data={"csrf_token": token} | form,
                              timeout=10, allow_redirects=False)
        assert refused.status_code == 403, path
    with web.sessions() as session:
        card = session.get(CustomerCard, card_id)
        assert card is not None and card.name.startswith("Retail")
        assert [(r.id, r.match, r.value) for r in card.rules] == [(rule_id, "", "10")]
        draft = session.get(RateRevision, draft_id)
        assert draft is not None and draft.state == "draft" and draft.date_live is None


def test_build_all_stale_builds_every_stale_or_unbuilt_card(
        page: Page, web_down: WebApp, jobs_worker: object) -> None:
    web = web_down
    provider_id, _ = add_provider(web)
    first = add_customer_card(web, provider_id)
    second = add_customer_card(web, provider_id, precision=2)
    add_rule(web, second, value="100")
    log_in(page, web)
    page.goto(web.url("/customer-cards"))
    for card_id in (first, second):
        row = page.locator(f"tr[data-row-id='{card_id}']")
        expect(row.locator("td[data-col='stale']")).to_have_text("not built")
        expect(row.locator("td[data-col='active_revision']")).to_have_text("none")
    page.get_by_test_id("build-stale").click()
    page.get_by_label("Activate each new revision when built").check()
    page.get_by_test_id("confirm-button").click()
    expect(page.get_by_test_id("job-done")).to_be_visible(timeout=60_000)
    page.get_by_test_id("job-result").click()
    expect(page).to_have_url(re.compile(r"/customer-cards$"))
    for card_id in (first, second):
        row = page.locator(f"tr[data-row-id='{card_id}']")
        expect(row.locator("td[data-col='stale']")).to_have_text("")
        expect(row.locator("td[data-col='active_revision']")).to_have_text("1")
        expect(row.locator("td[data-col='active_rows']")).to_have_text(str(len(DECK)))
    page.goto(web.url(f"/customer-cards/{second}?tab=rates&q=33"))
    expect(page.get_by_test_id("rates-table").locator("td[data-col='rate']")).to_have_text(
        sell(DECK["33"][1], Decimal(100), 2))


def test_build_from_a_parent_without_active_revision_fails_with_the_reason(
        page: Page, web_down: WebApp, jobs_worker: object) -> None:
    web = web_down
    name = unique("Empty Deck")
    with web.sessions.begin() as session:
        carrier = create_carrier(session, SYSTEM, {"name": unique("Carrier"),
                                                   "currency": "USD"})
        provider_id = create_provider_card(session, SYSTEM, {
            "name": name, "currency": "USD", "carrier_id": carrier.id}).id
    card_id = add_customer_card(web, provider_id)
    log_in(page, web)
    page.goto(web.url(f"/customer-cards/{card_id}"))
    page.get_by_test_id("build-button").click()
    expect(page.get_by_test_id("job-failed")).to_contain_text(
        f"provider card {name} has no active revision", timeout=30_000)
    page.get_by_role("link", name="Back to the customer card").click()
    expect(page.get_by_test_id("active-revision")).to_have_text("none")
    with web.sessions() as session:
        assert session.scalar(select(func.count()).select_from(RateRevision).where(
            RateRevision.customer_card_id == card_id)) == 0


def test_rules_move_delete_and_import_from_parents(page: Page, web_down: WebApp) -> None:
    web = web_down
    provider_id, _ = add_provider(web)
    card_id = add_customer_card(web, provider_id)
    first = add_rule(web, card_id, match="^44", value="5")
    second = add_rule(web, card_id, match="33", value="7")
    log_in(page, web)
    page.goto(web.url(f"/customer-cards/{card_id}?tab=rules"))
    rows = page.get_by_test_id("rules-table").locator("tbody tr")
    expect(rows.nth(0)).to_have_attribute("data-rule-id", str(first))
    rows.nth(0).get_by_role("button", name="Down").click()
    expect(rows.nth(0)).to_have_attribute("data-rule-id", str(second))
    expect(rows.nth(1)).to_have_attribute("data-rule-id", str(first))
    expect(rows.nth(0).get_by_role("button", name="Up")).to_have_count(0)

    page.get_by_test_id("import-rules").click()
    # One rule per destination name, matching its prefixes; "33" exists already.
    expect(page.get_by_text("2 profit rule(s) imported")).to_be_visible()
    expect(rows).to_have_count(4)
    for prefix, (name, _) in DECK.items():
        if prefix != "33":
            expect(page.get_by_test_id("rules-table")).to_contain_text(name)
        assert page.locator("tr[data-rule-id] code", has_text=re.compile(
            f"^{prefix}$")).count() >= 1, prefix

    page.locator(f"tr[data-rule-id='{second}']").get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete profit rule 1?")
    page.get_by_test_id("confirm-button").click()
    expect(page.locator(f"tr[data-rule-id='{second}']")).to_have_count(0)
    expect(rows.nth(0)).to_have_attribute("data-rule-id", str(first))
    with web.sessions() as session:
        assert [r.position for r in session.scalars(select(ProfitRule).where(
            ProfitRule.customer_card_id == card_id).order_by(ProfitRule.position))] == [
            0, 1, 2]
