"""Provider card pages in real Chromium: add a card, upload a deck through the wizard
(preview, column mapping, activate now, progress), browse and search its rates,
export a revision, a refused import, revision actions, and the viewer role. Plus fast
tests of the wizard's mapping parsing."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from huey.consumer import Consumer
from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from orchestrator.actor import SYSTEM
from orchestrator.carriers.service import create_carrier
from orchestrator.errors import ValidationFailed
from orchestrator.jobs.models import Job
from orchestrator.ratecards import customer_cards, provider_cards, revisions
from orchestrator.ratecards.models import ProviderCard, RateRevision
from orchestrator.users.models import AdminUser
from orchestrator.users.service import create_user
from tests.web.helpers import WebApp, csrf_token, log_in, sign_in
from webui.jobs_status import error_rows
from webui.provider_cards.revisions import parse_date_live
from webui.provider_cards.upload import parse_first_row, parse_mapping

pytestmark = pytest.mark.web

VIEWER = "pcard-viewer"
VIEWER_PASSWORD = "viewer password 789"

# Non-standard headers, semicolons, a combined billing column; "New Price" is not
# guessed: the test maps it as the rate instead of "Price".
DECK = (b"Dial Code;Destination;Price;Billing;New Price\r\n"
        b"44;United Kingdom;0.0100;60/60;0.0123\r\n"
        b"4420;UK London;0.0200;60/60;0.025\r\n"
        b"4479;UK Mobile;0.0300;1/1;0.04\r\n"
        b"33;France;0.0150;60/60;0.016\r\n")
BAD_DECK = (b"Dial Code;Destination;Price;Billing\n"
            b"49;Germany;0.0100;60/60\n"
            b"4930;Berlin;zero point two;60/60\n"
            b"4989;Munich;0.03;60/60\n")


def unique(prefix: str) -> str:
    return f"{prefix} {secrets.token_hex(3)}"


def add_carrier(web: WebApp, name: str) -> int:
    with web.sessions.begin() as session:
        return create_carrier(session, SYSTEM, {"name": name, "currency": "EUR"}).id


def add_card(web: WebApp, name: str, carrier_id: int) -> int:
    with web.sessions.begin() as session:
        return provider_cards.create_provider_card(session, SYSTEM, {
            "name": name, "carrier_id": carrier_id, "currency": "EUR"}).id


def revision_count(web: WebApp, card_id: int) -> int:
    with web.sessions() as session:
        return session.scalar(select(func.count()).select_from(RateRevision).where(
            RateRevision.provider_card_id == card_id)) or 0


def upload(page: Page, name: str, content: bytes) -> None:
    page.locator("#f-file").set_input_files(files=[{"name": name, "mimeType": "text/csv",
                                                    "buffer": content}])
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_test_id("preview-table")).to_be_visible()


def test_add_card_upload_deck_activate_search_rates_and_export(
        page: Page, web_down: WebApp, jobs_worker: Consumer, tmp_path: Path) -> None:
    web = web_down
    carrier = unique("Deck Carrier")
    add_carrier(web, carrier)
    name = unique("Deck Card")
    log_in(page, web)
    page.get_by_role("link", name="Provider cards").click()
    page.get_by_test_id("add-provider-card").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Carrier", exact=True).select_option(label=carrier)
    page.get_by_label("Currency").fill("eur")
    page.get_by_label("Tech prefix").fill("0099")
    page.get_by_role("button", name="Add provider card").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    expect(page).to_have_url(re.compile(r"/provider-cards/\d+\?tab=upload$"))
    card_id = int(re.search(r"/provider-cards/(\d+)", page.url).group(1))  # type: ignore[union-attr]

    # Step 1 -> 2: the preview shows what was detected and the suggested mapping.
    upload(page, "acme-deck.csv", DECK)
    expect(page.get_by_test_id("detected-delimiter")).to_have_text(";")
    expect(page.get_by_test_id("detected-encoding")).to_have_text(re.compile("utf-8|ascii"))
    rows = page.get_by_test_id("preview-table").locator("tbody tr")
    expect(rows).to_have_count(5)
    expect(rows.nth(2)).to_contain_text("UK London")
    expect(page.get_by_label("Column 1")).to_have_value("prefix")
    expect(page.get_by_label("Column 2")).to_have_value("name")
    expect(page.get_by_label("Column 3")).to_have_value("rate")
    expect(page.get_by_label("Column 4")).to_have_value("billing")
    expect(page.get_by_label("Column 5")).to_have_value("")
    expect(page.get_by_label("First data row")).to_have_value("2")

    # Map "New Price" as the rate: both columns say Rate until "Price" is ignored.
    page.get_by_label("Column 5").select_option("rate")
    live = page.locator("[data-live-error]:visible")
    expect(live).to_have_count(2)
    expect(live.first).to_contain_text("Rate is also chosen for Column 5")
    page.get_by_label("Column 3").select_option("")
    expect(live).to_have_count(0)
    page.get_by_label("Activate now").check()
    page.get_by_test_id("start-import").click()

    # Step 3: the job's page follows the job until it is done.
    expect(page).to_have_url(re.compile(r"/jobs/\d+"))
    expect(page.get_by_test_id("job-state")).to_have_text("done")
    expect(page.get_by_test_id("job-progress")).to_have_attribute("value", "100")
    expect(page.get_by_test_id("job-done")).to_contain_text("4 rates in revision 1 (active)")
    page.get_by_test_id("job-result").click()

    # The rates of the new revision: prefix search as you type, money as decimals.
    expect(page).to_have_url(re.compile(rf"/provider-cards/{card_id}\?tab=rates&revision=\d+"))
    table = page.get_by_test_id("rates-table")
    expect(table.locator("tbody tr")).to_have_count(4)
    page.evaluate("window.notReloaded = true")
    page.get_by_test_id("rates-search").press_sequentially("44", delay=40)
    expect(table.locator("tbody tr")).to_have_count(3)
    page.get_by_test_id("rates-search").press_sequentially("2", delay=40)
    expect(table.locator("tbody tr")).to_have_count(1)
    london = table.locator("tr[data-prefix='4420']")
    expect(london.locator("[data-col='rate']")).to_have_text("0.0250")  # New Price, not Price
    expect(london.locator("[data-col='billing']")).to_have_text("60/60")
    expect(london.locator("[data-col='name']")).to_have_text("UK London")
    expect(page).to_have_url(re.compile(r"q=442"))
    assert page.evaluate("window.notReloaded") is True, "the page was reloaded"
    page.get_by_test_id("rates-search").fill("mobile")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator("tbody tr").first).to_have_attribute("data-prefix", "4479")

    # The list shows the active revision and its size.
    page.goto(web.url("/provider-cards"))
    row = page.locator(f"tr[data-row-id='{card_id}']")
    expect(row.locator("td[data-col='carrier']")).to_have_text(carrier)
    expect(row.locator("td[data-col='active_revision']")).to_have_text("1")
    expect(row.locator("td[data-col='rows']")).to_have_text("4")

    # Export CSV of the revision.
    page.goto(web.url(f"/provider-cards/{card_id}?tab=revisions"))
    revision_row = page.get_by_test_id("revision-table").locator("tbody tr").first
    expect(revision_row.get_by_test_id("revision-state")).to_have_text("active")
    expect(revision_row).to_contain_text("acme-deck.csv")
    expect(revision_row).to_contain_text("4 new")
    with page.expect_download() as info:
        revision_row.get_by_test_id("export-csv").click()
    download = info.value
    assert re.fullmatch(r".+-r1\.csv", download.suggested_filename)
    target = tmp_path / "export.csv"
    download.save_as(target)
    lines = target.read_text().splitlines()
    assert lines[0] == "prefix,name,rate,inter,intra,mcd,pulse,connect_fee,status"
    assert "4420,UK London,0.025,,,60,60,0,active" in lines
    assert "4479,UK Mobile,0.04,,,1,1,0,active" in lines
    assert len(lines) == 5


def test_bad_row_lists_row_and_column_and_imports_nothing(
        page: Page, web_down: WebApp, jobs_worker: Consumer) -> None:
    web = web_down
    card_id = add_card(web, unique("Strict Card"), add_carrier(web, unique("Strict Carrier")))
    log_in(page, web)
    page.goto(web.url(f"/provider-cards/{card_id}?tab=upload"))
    upload(page, "bad.csv", BAD_DECK)
    expect(page.get_by_label("Column 3")).to_have_value("rate")
    page.get_by_label("Activate now").check()
    page.get_by_test_id("start-import").click()

    expect(page.get_by_test_id("job-state")).to_have_text("failed")
    expect(page.get_by_test_id("job-failed")).to_contain_text("Nothing was imported")
    errors = page.get_by_test_id("job-errors").locator("tbody tr")
    expect(errors).to_have_count(1)
    expect(errors.first.locator("td").nth(0)).to_have_text("3")
    expect(errors.first.locator("td").nth(1)).to_have_text("Price")
    expect(errors.first.locator("td").nth(2)).to_contain_text("not a number")
    assert revision_count(web, card_id) == 0

    # Back to the mapping: the same upload, the choices kept, no new file needed.
    page.get_by_test_id("job-back").click()
    expect(page.get_by_test_id("back-notice")).to_contain_text("Nothing was imported")
    expect(page.get_by_test_id("preview-table").locator("tbody tr")).to_have_count(4)
    expect(page.get_by_label("Column 1")).to_have_value("prefix")
    expect(page.get_by_label("Activate now")).to_be_checked()
    # Ignore the bad column's field and import the rest as a draft: refused on the
    # page itself, since the rate is required.
    page.get_by_label("Column 3").select_option("")
    page.get_by_test_id("start-import").click()
    expect(page.get_by_test_id("mapping-errors")).to_contain_text(
        "Choose the column that holds the rate")
    assert revision_count(web, card_id) == 0

    # A card nothing uses is deleted after a confirmation.
    page.goto(web.url(f"/provider-cards/{card_id}"))
    page.get_by_test_id("edit-controls").get_by_role("link", name="Delete").click()
    expect(page.locator("section.panel")).to_contain_text("0 revisions")
    page.get_by_role("button", name="Delete Strict Card").click()
    expect(page).to_have_url(web.url("/provider-cards"))
    expect(page.get_by_role("status")).to_contain_text("deleted")
    with web.sessions() as session:
        assert session.get(ProviderCard, card_id) is None


def test_form_errors_fixed_currency_revision_actions_and_refused_delete(
        page: Page, web_down: WebApp) -> None:
    web = web_down
    carrier_id = add_carrier(web, unique("Form Carrier"))
    name = unique("Form Card")
    card_id = add_card(web, name, carrier_id)
    log_in(page, web)
    page.goto(web.url(f"/provider-cards/{card_id}"))
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_test_id("currency-fixed")).to_contain_text("EUR")
    page.get_by_label("Tech prefix").fill("12ab")
    page.get_by_label("Public notes").fill("premium CLI route")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("[data-error-for='tech_prefix']")).to_contain_text("digits only")
    expect(page.get_by_label("Public notes")).to_have_value("premium CLI route")  # kept
    page.get_by_label("Tech prefix").fill("12")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("dl.facts")).to_contain_text("premium CLI route")

    # Revisions: a new empty draft, activated after a confirmation, then a second
    # draft deleted after one.
    page.get_by_role("link", name="Revisions").click()
    expect(page.get_by_test_id("no-revisions")).to_be_visible()
    page.get_by_role("button", name="New empty draft").click()
    table = page.get_by_test_id("revision-table")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.get_by_test_id("revision-state")).to_have_text("draft")
    table.get_by_role("link", name="Activate").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Activate revision 1")
    page.get_by_role("button", name="Activate revision 1").click()
    expect(table.locator("tr[data-revision-number='1']").get_by_test_id(
        "revision-state")).to_have_text("active")
    page.get_by_role("button", name="New draft copy of the active revision").click()
    draft = table.locator("tr[data-revision-number='2']")
    expect(draft.get_by_test_id("revision-state")).to_have_text("draft")
    draft.get_by_label("Goes live at (UTC) for revision 2").fill("2031-05-04T10:30")
    draft.get_by_role("button", name="Schedule").click()
    expect(draft).to_contain_text("2031-05-04 10:30 UTC")
    draft.get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete revision 2").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    assert revision_count(web, card_id) == 1

    # A customer card built from it keeps it: the refusal is shown, nothing deleted.
    with web.sessions.begin() as session:
        customer_cards.create_customer_card(session, SYSTEM, {
            "name": unique("Uses It"), "currency": "EUR",
            "parents": [{"provider_card_id": card_id}]})
    page.get_by_role("link", name="Delete").first.click()
    page.get_by_role("button", name=f"Delete {name}").click()
    expect(page.get_by_test_id("delete-refused")).to_contain_text("customer card")
    with web.sessions() as session:
        assert session.get(ProviderCard, card_id) is not None


def test_viewer_sees_no_upload_or_edit_controls_and_cannot_post(
        page: Page, web_down: WebApp) -> None:
    web = web_down
    with web.sessions.begin() as session:
        if session.scalar(select(AdminUser).where(AdminUser.username == VIEWER)) is None:
            create_user(session, VIEWER, VIEWER_PASSWORD, role="viewer")
    card_id = add_card(web, unique("Look Only Card"), add_carrier(web, unique("Look Carrier")))
    with web.sessions.begin() as session:
        card = provider_cards.get_provider_card(session, SYSTEM, card_id)
        revision_id = revisions.create_draft_copy(session, SYSTEM, card).id
    log_in(page, web, VIEWER, VIEWER_PASSWORD)
    page.goto(web.url("/provider-cards"))
    expect(page.locator(f"tr[data-row-id='{card_id}']")).to_be_visible()
    expect(page.get_by_test_id("add-provider-card")).to_have_count(0)
    for tab in ("main", "revisions", "rates"):
        page.goto(web.url(f"/provider-cards/{card_id}?tab={tab}"))
        expect(page.get_by_role("heading", level=1)).to_contain_text("Look Only Card")
        expect(page.get_by_test_id("edit-controls")).to_have_count(0)
        expect(page.get_by_role("link", name="Upload", exact=True)).to_have_count(0)
        expect(page.locator("form[method='post']:not([action$='/logout'])")).to_have_count(0)
    expect(page.get_by_role("link", name="Activate")).to_have_count(0)

    client, answer = sign_in(web, VIEWER, VIEWER_PASSWORD)
    assert answer.status_code == 302
    token = csrf_token(client.get(web.url("/provider-cards"), timeout=10).text)
    base = f"/provider-cards/{card_id}"
    posts = {"/provider-cards/new": {"name": "x", "carrier_id": "1", "currency": "EUR"},
             f"{base}/edit": {"name": "renamed"}, f"{base}/delete": {},
             f"{base}/revisions": {}, f"{base}/revisions/{revision_id}/activate": {},
             f"{base}/revisions/{revision_id}/delete": {},
             f"{base}/revisions/{revision_id}/schedule": {"date_live": "2031-01-01T00:00"},
             f"{base}/upload/{'0' * 32}": {"col_0": "prefix", "col_1": "rate",
                                           "first_row": "1"}}
    for path, form in posts.items():
        answer = client.post(web.url(path), data=form | {"csrf_token": token}, timeout=10,
                             allow_redirects=False)
        assert answer.status_code == 403, path
    answer = client.post(web.url(f"{base}/upload"), data={"csrf_token": token},
                         files={"file": ("deck.csv", DECK)}, timeout=10,
                         allow_redirects=False)
    assert answer.status_code == 403
    assert client.get(web.url(f"{base}/upload/{'0' * 32}"), timeout=10).status_code == 403
    assert client.get(web.url(f"{base}/revisions/{revision_id}/export.csv"),
                      timeout=10).status_code == 200  # reading is allowed
    assert revision_count(web, card_id) == 1
    with web.sessions() as session:
        card = session.get(ProviderCard, card_id)
        assert card is not None and card.name.startswith("Look Only Card")


def test_job_json_needs_a_sign_in(web_down: WebApp) -> None:
    import requests

    answer = requests.get(web_down.url("/jobs/1.json"), timeout=10)
    assert answer.status_code == 401
    assert answer.json() == {"error": "not signed in"}
    client, _ = sign_in(web_down)
    assert client.get(web_down.url("/jobs/999999999.json"), timeout=10).status_code == 404


def test_job_page_refreshes_itself_without_script_until_the_job_ends(
        web_down: WebApp) -> None:
    with web_down.sessions.begin() as session:
        waiting = Job(kind="ratecards.import", state="queued", message="queued",
                      params={"kind": "provider", "card_id": 1, "filename": "x.csv"})
        failed = Job(kind="ratecards.import", state="failed", progress=25,
                     message="failed", params={"kind": "provider", "card_id": 1},
                     errors=[{"field": "row 7, Rate", "messages": ["is negative"]}])
        session.add_all([waiting, failed])
        session.flush()
        waiting_id, failed_id = waiting.id, failed.id
    client, _ = sign_in(web_down)
    page = client.get(web_down.url(f"/jobs/{waiting_id}?back=/provider-cards"), timeout=10)
    assert page.status_code == 200
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page.text
    assert "job-progress.js" in page.text
    assert 'href="/provider-cards" data-testid="job-back"' in page.text
    page = client.get(web_down.url(f"/jobs/{failed_id}?back=//evil.example/x"), timeout=10)
    assert 'http-equiv="refresh"' not in page.text and "job-progress.js" not in page.text
    assert "<td class=\"num\">7</td><td>Rate</td><td>is negative</td>" in page.text
    assert "evil.example" not in page.text  # only paths of this site are linked back to
    assert client.get(web_down.url(f"/jobs/{failed_id}.json"), timeout=10).json()[
        "errors"] == [{"field": "row 7, Rate", "messages": ["is negative"]}]


# The wizard's parsing, without a browser -------------------------------------------

def test_parse_mapping_reads_the_column_selects() -> None:
    form = MultiDict({"col_0": "prefix", "col_1": "", "col_2": "name", "col_4": "rate",
                      "col_5": "billing", "first_row": "3", "csrf_token": "x"})
    mapping, errors = parse_mapping(form)
    assert mapping == {"prefix": 0, "name": 2, "rate": 4, "billing": 5}
    assert errors == {}


def test_parse_mapping_names_a_field_chosen_twice_on_both_columns() -> None:
    mapping, errors = parse_mapping(MultiDict({"col_0": "prefix", "col_2": "rate",
                                               "col_7": "rate"}))
    assert mapping == {"prefix": 0, "rate": 2}
    assert errors["col_2"] == ["Rate is also chosen for column 8: choose it once."]
    assert errors["col_7"] == ["Rate is also chosen for column 3: choose it once."]


def test_parse_mapping_requires_prefix_and_rate_and_refuses_unknown_or_mixed_billing(
        ) -> None:
    mapping, errors = parse_mapping(MultiDict({"col_0": "name", "col_1": "colour",
                                               "col_2": "billing", "col_3": "mcd"}))
    assert set(errors) == {"col_1", "col_2", "mapping.prefix", "mapping.rate"}
    assert "unknown field" in errors["col_1"][0]
    assert "not both" in errors["col_2"][0]
    assert mapping == {"name": 0, "billing": 2, "mcd": 3}


def test_first_row_and_date_live_parsing() -> None:
    assert parse_first_row(" 2 ") == (2, None)
    assert parse_first_row("0")[0] is None
    assert parse_first_row("two")[1] == "must be a row number, 1 or more"
    assert parse_date_live("") is None
    when = parse_date_live("2031-05-04T10:30")
    assert when is not None and when.isoformat() == "2031-05-04T10:30:00+00:00"
    with pytest.raises(ValidationFailed):
        parse_date_live("tomorrow")


def test_job_errors_become_table_rows() -> None:
    rows, general = error_rows([
        {"field": "row 12, Rate", "messages": ["is not a number", "is negative"]},
        {"field": "row 4", "messages": ["duplicate prefix"]},
        {"field": "file", "messages": ["3 problems; nothing was imported"]},
        {"field": "mapping.rate", "messages": ["is required"]}])
    assert rows == [{"row": "12", "column": "Rate", "message": "is not a number"},
                    {"row": "12", "column": "Rate", "message": "is negative"},
                    {"row": "4", "column": "", "message": "duplicate prefix"}]
    assert general == ["3 problems; nothing was imported", "mapping.rate: is required"]
