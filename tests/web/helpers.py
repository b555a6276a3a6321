"""Helpers of the web admin tests: the running app and signing in over plain HTTP."""

from __future__ import annotations

import re
from dataclasses import dataclass

import requests
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.settings import Settings
from orchestrator.users.service import create_user

ADMIN = "alice"
ADMIN_PASSWORD = "correct horse battery staple"


@dataclass
class WebApp:
    """A running web admin: where it listens and a way into its database."""

    base_url: str
    settings: Settings
    sessions: sessionmaker[Session]
    username: str = ADMIN
    password: str = ADMIN_PASSWORD

    def url(self, path: str) -> str:
        return self.base_url + path

    def add_user(self, username: str, password: str, must_change: bool = False) -> None:
        with self.sessions.begin() as session:
            user = create_user(session, username, password)
            user.must_change_password = must_change


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(web: WebApp, username: str | None = None, password: str | None = None,
            next_: str | None = None) -> tuple[requests.Session, requests.Response]:
    """A requests session after posting the sign-in form (redirects not followed)."""
    client = requests.Session()
    page = client.get(web.url("/login"), timeout=10)
    assert page.status_code == 200
    form = {"csrf_token": csrf_token(page.text), "username": username or web.username,
            "password": web.password if password is None else password}
    if next_ is not None:
        form["next"] = next_
    answer = client.post(web.url("/login"), data=form, allow_redirects=False, timeout=10)
    return client, answer


def log_in(page: Page, web: WebApp, username: str | None = None,
           password: str | None = None) -> None:
    page.goto(web.url("/login"))
    page.get_by_label("Username").fill(username or web.username)
    page.get_by_label("Password").fill(password or web.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(web.url("/"))
