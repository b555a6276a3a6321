"""Users and Audit log pages in real Chromium: an admin adds an operator who then
signs in without reaching either page, a carrier change shows up in the audit log
with its before/after values, the log's filters, and the last admin who cannot go.

These tests run on a web admin of their own, whose only administrator is ``alice``:
the shared one gains administrators from other test modules.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from orchestrator.actor import SYSTEM
from orchestrator.audit.models import AuditEntry
from orchestrator.carriers.service import create_carrier
from orchestrator.customers.service import create_customer
from orchestrator.users.models import AdminUser
from orchestrator.users.service import create_user
from tests.support import dataplane
from tests.web.conftest import _serve
from tests.web.helpers import WebApp

pytestmark = pytest.mark.web


@pytest.fixture(scope="module")
def lone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    """A web admin whose only user (and so only administrator) is alice at first."""
    yield from _serve(dataplane.test_settings(tmp_path_factory.mktemp("web-users")))


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def log_in(page: Page, web: WebApp, username: str | None = None,
           password: str | None = None, lands_on: str = "/") -> None:
    page.goto(web.url("/login"))
    page.get_by_label("Username").fill(username or web.username)
    page.get_by_label("Password").fill(password or web.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(web.url(lands_on))


def user_by_name(web: WebApp, username: str) -> AdminUser | None:
    with web.sessions() as session:
        return session.scalar(select(AdminUser).where(AdminUser.username == username))


def audit_ids(web: WebApp, object_type: str, object_id: int, action: str) -> list[int]:
    with web.sessions() as session:
        return list(session.scalars(select(AuditEntry.id).where(
            AuditEntry.object_type == object_type, AuditEntry.object_id == object_id,
            AuditEntry.action == action).order_by(AuditEntry.id)))


def test_admin_adds_an_operator_who_cannot_reach_users_or_audit(
        page: Page, browser: Browser, lone: WebApp) -> None:
    name = unique("olga")
    password = "olga's first password"
    log_in(page, lone)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Users")
    page.get_by_test_id("add-user").click()
    page.get_by_label("Username").fill(name)
    page.get_by_label("Role").select_option("operator")
    page.get_by_label("Password (at least 10 characters)").fill(password)
    page.get_by_label("Confirm password").fill("something else entirely")
    page.get_by_role("button", name="Add user").click()
    expect(page.locator("[data-error-for='confirm_password']")).to_have_text(
        "does not match the password")
    expect(page.get_by_label("Username")).to_have_value(name)  # what was typed is kept
    assert user_by_name(lone, name) is None

    page.get_by_label("Password (at least 10 characters)").fill("short")
    page.get_by_label("Confirm password").fill("short")
    page.get_by_role("button", name="Add user").click()
    expect(page.locator("[data-error-for='password']")).to_contain_text("at least 10")
    assert user_by_name(lone, name) is None

    page.get_by_label("Password (at least 10 characters)").fill(password)
    page.get_by_label("Confirm password").fill(password)
    expect(page.get_by_label("Must choose a new password at first sign-in")).to_be_checked()
    page.get_by_role("button", name="Add user").click()
    expect(page).to_have_url(lone.url("/users"))
    created = user_by_name(lone, name)
    assert created is not None
    assert (created.role, created.active, created.must_change_password) == (
        "operator", True, True)
    row = page.locator(f"tr[data-row-id='{created.id}']")
    expect(row.locator("td[data-col='role']")).to_have_text("operator")
    expect(row.locator("td[data-col='must_change_password']")).to_have_text("yes")

    context = browser.new_context()
    context.set_default_timeout(10_000)
    try:
        olga = context.new_page()
        log_in(olga, lone, name, password, lands_on="/account/password")
        olga.get_by_label("Current password").fill(password)
        olga.get_by_label("New password (at least 10 characters)").fill("olga's own password")
        olga.get_by_label("New password again").fill("olga's own password")
        olga.get_by_role("button", name="Change password").click()
        expect(olga).to_have_url(lone.url("/"))
        nav = olga.get_by_role("navigation", name="Main")
        expect(nav.get_by_role("link", name="Carriers")).to_be_visible()
        expect(nav.get_by_role("link", name="Users")).to_have_count(0)
        expect(nav.get_by_role("link", name="Audit log")).to_have_count(0)
        for path in ("/users", "/audit", "/users/new", f"/users/{created.id}/edit",
                     "/audit.csv"):
            answer = olga.goto(lone.url(path))
            assert answer is not None and answer.status == 403, path
        expect(olga.get_by_role("heading", level=1)).to_contain_text("Forbidden")
        # and a change sent anyway is refused, nothing changed
        status = olga.evaluate("""async (url) => {
            const r = await fetch(url, {method: 'POST', body: new FormData()});
            return r.status; }""", lone.url(f"/users/{created.id}/delete"))
        assert status in (400, 403)  # no CSRF token (400) or not an admin (403)
    finally:
        context.close()
    assert user_by_name(lone, name) is not None


def test_carrier_change_shows_in_the_audit_log_and_filters_narrow_it(
        page: Page, lone: WebApp) -> None:
    carrier_name = unique("Audited Carrier")
    with lone.sessions.begin() as session:
        carrier_id = create_carrier(session, SYSTEM, {"name": carrier_name, "currency": "EUR",
                                                      "channels": 10}).id
        customer_id = create_customer(session, SYSTEM, {"name": unique("Audited Customer"),
                                                        "currency": "EUR"}).id
    [customer_created] = audit_ids(lone, "customer", customer_id, "create")
    [carrier_created] = audit_ids(lone, "carrier", carrier_id, "create")

    log_in(page, lone)
    page.goto(lone.url(f"/carriers/{carrier_id}/edit"))
    page.get_by_label("Channels").fill("25")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(carrier_name)
    [carrier_updated] = audit_ids(lone, "carrier", carrier_id, "update")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    rows = page.locator("[data-list-results] tbody tr")
    first = rows.first  # newest first
    expect(first).to_have_attribute("data-row-id", str(carrier_updated))
    expect(first.locator("td[data-col='username']")).to_have_text(lone.username)
    expect(first.locator("td[data-col='action']")).to_have_text("update")
    expect(first.locator("td[data-col='object_type']")).to_have_text("carrier")
    expect(first.locator("td[data-col='object_id']")).to_have_text(str(carrier_id))
    expect(page.locator(f"tr[data-row-id='{customer_created}']")).to_be_visible()

    first.get_by_test_id("entry-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Update carrier {carrier_id}")
    changed = page.get_by_test_id("audit-diff").locator("tr[data-field='channels']")
    expect(changed.locator("td.audit-before")).to_have_text("10")
    expect(changed.locator("td.audit-after")).to_have_text("25")
    expect(changed).to_have_class(re.compile(r"\bchanged\b"))
    page.get_by_role("link", name="Audit log").last.click()  # the breadcrumb

    # Filters: object type and action; the customer's entry disappears
    page.evaluate("window.notReloaded = true")
    page.get_by_test_id("filter-object_type").select_option("carrier")
    page.get_by_test_id("filter-operation").select_option("update")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(f"tr[data-row-id='{customer_created}']")).to_have_count(0)
    expect(page.locator(f"tr[data-row-id='{carrier_created}']")).to_have_count(0)
    expect(page.locator(f"tr[data-row-id='{carrier_updated}']")).to_be_visible()
    expect(page).to_have_url(re.compile(r"object_type=carrier.*operation=update"))
    for cell in page.locator("[data-list-results] td[data-col='action']").all():
        expect(cell).to_have_text("update")
    assert page.evaluate("window.notReloaded") is True, "the page was reloaded"

    # the CSV export keeps the filters
    href = page.get_by_test_id("export-csv").get_attribute("href")
    assert href is not None
    body = page.request.get(lone.url(href)).text()
    exported = list(csv.DictReader(io.StringIO(body)))
    assert exported and {r["Action"] for r in exported} == {"update"}
    assert {r["Object type"] for r in exported} == {"carrier"}
    assert any('"channels": 25' in r["After"] for r in exported)

    # by user: alice made the update, "system" made neither entry of hers
    page.get_by_test_id("clear-filters").click()
    expect(page.locator(f"tr[data-row-id='{customer_created}']")).to_be_visible()
    page.get_by_test_id("filter-username").select_option("system")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(f"tr[data-row-id='{customer_created}']")).to_be_visible()
    expect(page.locator(f"tr[data-row-id='{carrier_updated}']")).to_have_count(0)

    # free text, as you type, on top of the user filter
    page.get_by_test_id("list-search").press_sequentially(carrier_name.split("-")[-1],
                                                          delay=30)
    expect(page.locator(f"tr[data-row-id='{carrier_created}']")).to_be_visible()
    expect(page.locator(f"tr[data-row-id='{customer_created}']")).to_have_count(0)
    expect(page.locator("[data-list-results] tbody tr")).to_have_count(1)

    # a date range that ends before today leaves nothing
    page.get_by_test_id("clear-filters").click()
    page.get_by_test_id("filter-until").fill("2000-01-01")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("list-empty")).to_contain_text("No entry matches")


def test_the_last_admin_can_be_neither_deleted_nor_demoted(page: Page, lone: WebApp) -> None:
    with lone.sessions() as session:
        admins = session.scalars(select(AdminUser.username).where(
            AdminUser.role == "admin", AdminUser.active.is_(True))).all()
    assert admins == [lone.username], "this test needs alice to be the only admin"
    alice = user_by_name(lone, lone.username)
    assert alice is not None

    log_in(page, lone)
    page.goto(lone.url("/users"))
    page.locator(f"tr[data-row-id='{alice.id}'] td[data-col='username'] a").click()
    page.get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Delete user {lone.username}?")
    page.get_by_role("button", name=f"Delete {lone.username}").click()
    expect(page.get_by_test_id("delete-refused")).to_have_text(
        "Cannot delete: the last active administrator cannot be deleted.")
    assert user_by_name(lone, lone.username) is not None

    page.goto(lone.url(f"/users/{alice.id}/edit"))
    page.get_by_label("Role").select_option("viewer")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("user-refused")).to_contain_text(
        "the last active administrator must stay an active admin")
    expect(page.locator("[data-error-for='role']")).to_be_visible()
    page.get_by_label("Role").select_option("admin")
    page.get_by_label("Active (may sign in; untick to disable)").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("user-refused")).to_be_visible()
    after = user_by_name(lone, lone.username)
    assert after is not None and (after.role, after.active) == ("admin", True)

    # another user can be deleted, after confirmation
    victim = unique("vic")
    with lone.sessions.begin() as session:
        victim_id = create_user(session, victim, "victim password 1", "viewer").id
    page.goto(lone.url("/users"))
    page.get_by_test_id("list-search").press_sequentially(victim, delay=20)
    expect(page.locator("[data-list-results] tbody tr")).to_have_count(1)
    page.get_by_role("link", name=victim, exact=True).click()
    page.get_by_role("link", name="Delete").click()
    page.get_by_role("button", name=f"Delete {victim}").click()
    expect(page.get_by_role("status")).to_have_text(f"User {victim} deleted.")
    expect(page.locator(f"tr[data-row-id='{victim_id}']")).to_have_count(0)
    assert user_by_name(lone, victim) is None


def test_reset_password_forces_a_change_and_a_disabled_user_cannot_sign_in(
        page: Page, browser: Browser, lone: WebApp) -> None:
    name = unique("petra")
    with lone.sessions.begin() as session:
        user_id = create_user(session, name, "petra's password 1", "viewer").id
    log_in(page, lone)
    page.goto(lone.url(f"/users/{user_id}/edit"))
    form = page.get_by_test_id("password-form")
    form.get_by_label("New password (at least 10 characters)").fill("reset password 22")
    form.get_by_label("Confirm new password").fill("reset password 23")
    form.get_by_role("button", name="Reset password").click()
    expect(page.locator("[data-error-for='confirm_password']")).to_be_visible()
    form.get_by_label("New password (at least 10 characters)").fill("reset password 22")
    form.get_by_label("Confirm new password").fill("reset password 22")
    form.get_by_role("button", name="Reset password").click()
    expect(page.get_by_role("status")).to_contain_text("must be changed at the next sign-in")
    expect(page.get_by_test_id("must-change")).to_have_text("yes")

    context = browser.new_context()
    context.set_default_timeout(10_000)
    try:
        petra = context.new_page()
        log_in(petra, lone, name, "reset password 22", lands_on="/account/password")
    finally:
        context.close()

    page.get_by_label("Active (may sign in; untick to disable)").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(lone.url("/users"))
    expect(page.locator(f"tr[data-row-id='{user_id}'] td[data-col='status']")).to_have_text(
        "disabled")
    context = browser.new_context()
    context.set_default_timeout(10_000)
    try:
        petra = context.new_page()
        petra.goto(lone.url("/login"))
        petra.get_by_label("Username").fill(name)
        petra.get_by_label("Password").fill("reset password 22")
        petra.get_by_role("button", name="Sign in").click()
        expect(petra.get_by_text("Invalid username or password.")).to_be_visible()
    finally:
        context.close()
