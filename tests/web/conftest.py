"""The web admin served by waitress on a free port, and one headless Chromium.

``web`` reads the real Kamailio and rtpengine started by the ``dataplane`` fixture
(tests/conftest.py); ``web_down`` points at ports where nothing answers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests
from huey.consumer import Consumer
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from orchestrator.db import make_engine, migrate, session_factory
from orchestrator.jobs import queue as jobqueue
from orchestrator.settings import Settings
from tests.support.dataplane import Dataplane, test_settings
from tests.support.jobs import running_consumer
from tests.support.ports import free_port
from tests.web.helpers import WebApp
from webui.serve import make_server, stop

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def _serve(settings: Settings) -> Iterator[WebApp]:
    migrate.upgrade(settings.db_url)
    engine = make_engine(settings.db_url)
    web = WebApp(f"http://{settings.web_host}:{settings.web_port}", settings,
                 session_factory(engine))
    web.add_user(web.username, web.password)
    server = make_server(settings)
    thread = threading.Thread(target=server.run, name="web-admin", daemon=True)
    thread.start()
    try:
        assert requests.get(web.url("/login"), timeout=10).status_code == 200
        yield web
    finally:
        stop(server)
        thread.join(10)
        engine.dispose()
        assert not thread.is_alive(), "the web admin did not stop"


@pytest.fixture(scope="session")
def web(dataplane: Dataplane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    """The web admin reading the real Kamailio and rtpengine of ``dataplane``."""
    settings = dataplane.settings.with_overrides(
        var_dir=tmp_path_factory.mktemp("web"), database_url="", web_host="127.0.0.1",
        web_port=free_port())
    yield from _serve(settings)


@pytest.fixture(scope="session")
def web_down(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    """The web admin of a switch whose daemons are not running (nothing on the ports)."""
    yield from _serve(test_settings(tmp_path_factory.mktemp("web-down")))


@pytest.fixture
def jobs_worker(web_down: WebApp) -> Iterator[Consumer]:
    """The job worker of ``web_down``: huey's consumer (one thread) in this process, on
    the queue of the app's settings (uploads, imports, builds). Stopped gracefully after
    the test; the queue is configured again each time since another app created in this
    session makes its own queue the process's."""
    jobqueue.load_task_modules()
    queue = jobqueue.configure(web_down.settings)
    with running_consumer(queue) as consumer:
        yield consumer


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                          args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page with its own cookies; console errors fail the test."""
    context = browser.new_context()
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        # HTTP error statuses (401 on a refused sign-in) are asserted by the tests.
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            errors.append(msg.text)

    tab.on("console", on_console)
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, f"browser console errors: {errors}"
