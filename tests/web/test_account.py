"""Password guessing brake, and the forced change of a one-time password."""

from __future__ import annotations

import pytest
import requests

from tests.web.helpers import WebApp, csrf_token, sign_in
from webui.throttle import LoginThrottle

pytestmark = pytest.mark.web


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttle_blocks_after_five_failures_for_sixty_seconds() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(4):
        throttle.failed("Bob", "10.0.0.1")
    assert throttle.retry_after("bob", "10.0.0.1") == 0
    throttle.failed("bob ", "10.0.0.1")
    assert throttle.retry_after("bob", "10.0.0.1") == 60
    assert throttle.retry_after("bob", "10.0.0.2") == 0    # another IP
    assert throttle.retry_after("carol", "10.0.0.1") == 0  # another user
    clock.now += 59.5
    assert throttle.retry_after("bob", "10.0.0.1") == 1
    clock.now += 0.5
    assert throttle.retry_after("bob", "10.0.0.1") == 0


def test_throttle_forgets_failures_after_a_success() -> None:
    throttle = LoginThrottle(clock=Clock())
    for _ in range(4):
        throttle.failed("bob", "10.0.0.1")
    throttle.succeeded("bob", "10.0.0.1")
    throttle.failed("bob", "10.0.0.1")
    assert throttle.retry_after("bob", "10.0.0.1") == 0


def test_sixth_attempt_is_refused_even_with_the_right_password(web_down: WebApp) -> None:
    web_down.add_user("mallory-target", "the right password")
    for _ in range(5):
        _, answer = sign_in(web_down, "mallory-target", "a wrong guess")
        assert answer.status_code == 401
    client, answer = sign_in(web_down, "mallory-target", "the right password")
    assert answer.status_code == 429
    assert "Too many failed sign-in attempts. Try again in" in answer.text
    assert 0 < int(answer.headers["Retry-After"]) <= 60
    assert client.get(web_down.url("/"), allow_redirects=False, timeout=10).status_code == 302


def change_password(client: requests.Session, web: WebApp, current: str, new: str,
                    confirm: str | None = None) -> tuple[int, str, str]:
    form = client.get(web.url("/account/password"), timeout=10)
    assert form.status_code == 200
    answer = client.post(web.url("/account/password"), allow_redirects=False, timeout=10,
                         data={"csrf_token": csrf_token(form.text),
                               "current_password": current, "new_password": new,
                               "confirm_password": new if confirm is None else confirm})
    return answer.status_code, answer.headers.get("Location", ""), answer.text


def test_one_time_password_must_be_changed_first(web_down: WebApp) -> None:
    web_down.add_user("first-admin", "one-time-pass", must_change=True)
    client, answer = sign_in(web_down, "first-admin", "one-time-pass")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/account/password"
    home = client.get(web_down.url("/"), allow_redirects=False, timeout=10)
    assert home.headers["Location"] == "/account/password"

    status, _, text = change_password(client, web_down, "one-time-pass", "short")
    assert status == 400
    assert "The new password must be at least 10 characters." in text
    status, _, text = change_password(client, web_down, "wrong-current", "a brand new pass")
    assert (status, "The current password is not correct." in text) == (400, True)
    status, _, text = change_password(client, web_down, "one-time-pass", "a brand new pass",
                                      "another new pass")
    assert (status, "differ" in text) == (400, True)

    status, location, _ = change_password(client, web_down, "one-time-pass",
                                          "a brand new pass")
    assert (status, location) == (302, "/")
    assert client.get(web_down.url("/"), allow_redirects=False, timeout=10).status_code == 200
    _, old = sign_in(web_down, "first-admin", "one-time-pass")
    assert old.status_code == 401
    _, new = sign_in(web_down, "first-admin", "a brand new pass")
    assert (new.status_code, new.headers["Location"]) == (302, "/")


def test_changing_the_password_ends_other_sessions(web_down: WebApp) -> None:
    web_down.add_user("dave", "dave's first password")
    laptop, _ = sign_in(web_down, "dave", "dave's first password")
    phone, _ = sign_in(web_down, "dave", "dave's first password")
    status, _, _ = change_password(laptop, web_down, "dave's first password",
                                   "dave's second password")
    assert status == 302
    assert laptop.get(web_down.url("/"), allow_redirects=False, timeout=10).status_code == 200
    stale = phone.get(web_down.url("/"), allow_redirects=False, timeout=10)
    assert stale.status_code == 302
    assert stale.headers["Location"].startswith("/login")
