"""The browsable API docs render in real Chromium from local assets, CSP intact."""

from __future__ import annotations

import requests
from playwright.sync_api import Page

from tests.web.helpers import WebApp


def test_api_docs_render_offline_and_a_token_works_over_http(web_down: WebApp,
                                                            page: Page) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(web_down.url("/api/v1/docs"))
    page.wait_for_selector(".opblock")
    assert page.locator(".opblock-summary-path", has_text="/api/v1/users").count() >= 2
    assert all(url.startswith((web_down.base_url, "data:")) for url in requested), requested

    token = requests.post(web_down.url("/api/v1/tokens"), timeout=10, json={
        "username": web_down.username, "password": web_down.password}).json()["token"]
    users = requests.get(web_down.url("/api/v1/users"), timeout=10,
                         headers={"Authorization": f"Bearer {token}"})
    assert users.status_code == 200
    assert web_down.username in [u["username"] for u in users.json()["items"]]
