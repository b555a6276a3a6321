"""STARTTLS, implicit TLS and AUTH against a real SMTP server (aiosmtpd) with a
self-signed certificate that the process trusts through SSL_CERT_FILE, as an operator
trusts a private CA. A wrong password, an untrusted certificate and a login without TLS
each give a clear error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from orchestrator.notify.testsend import send_test_email
from tests.support.mail import Inbox, smtp_server
from tests.unit.notify.certs import self_signed, server_context
from tests.unit.notify.world import ADMIN, World

USER, PASSWORD = "switch", "correct horse"


class Authenticator:
    def __init__(self) -> None:
        self.logins: list[tuple[str, str, bool]] = []  # user, mechanism, success

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        ok = (user, password) == (USER, PASSWORD)
        self.logins.append((user, mechanism, ok))
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path)


@pytest.fixture
def trusted(cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
    return cert[0]


@pytest.fixture
def starttls_server(cert: tuple[Path, Path]) -> Iterator[tuple[Inbox, Authenticator]]:
    auth = Authenticator()
    with smtp_server(tls_context=server_context(*cert), require_starttls=True,
                     authenticator=auth, auth_require_tls=True, auth_required=True) as inbox:
        yield inbox, auth


def test_starttls_with_auth_delivers(world: World, trusted: Path,
                                     starttls_server: tuple[Inbox, Authenticator]) -> None:
    inbox, auth = starttls_server
    world.set_smtp(host="127.0.0.1", port=inbox.port, security="starttls", username=USER,
                   password=PASSWORD, from_address="noc@switch.test")
    found = world.wait(world.email("ops@acme.example", "Over TLS", "secret rates"))
    assert found["status"] == "sent", found
    [message] = inbox.messages
    assert message["Subject"] == "Over TLS"
    assert auth.logins == [(USER, auth.logins[0][1], True)]


def test_wrong_password_is_a_clear_error(world: World, trusted: Path,
                                         starttls_server: tuple[Inbox, Authenticator]) -> None:
    inbox, auth = starttls_server
    world.set_smtp(host="127.0.0.1", port=inbox.port, security="starttls", username=USER,
                   password="wrong", from_address="noc@switch.test")
    with world.sessions.begin() as session:
        result = send_test_email(session, ADMIN, world.settings, "ops@acme.example")
    assert not result.sent and inbox.messages == []
    assert result.error.startswith(f"authentication failed at 127.0.0.1:{inbox.port}: the "
                                   "server answered 535 ")
    assert result.error.endswith("(check the username and password)")
    assert auth.logins and not any(ok for _, _, ok in auth.logins)


def test_login_without_tls_is_refused_clearly(world: World, trusted: Path,
                                              starttls_server: tuple[Inbox, Authenticator]
                                              ) -> None:
    inbox, _ = starttls_server
    world.set_smtp(host="127.0.0.1", port=inbox.port, security="none", username=USER,
                   password=PASSWORD, from_address="noc@switch.test")
    with world.sessions.begin() as session:
        result = send_test_email(session, ADMIN, world.settings, "ops@acme.example")
    assert not result.sent and inbox.messages == []
    assert "SMTP AUTH extension not supported" in result.error
    assert "choose security starttls or tls" in result.error


def test_untrusted_certificate_is_refused(world: World,
                                          starttls_server: tuple[Inbox, Authenticator],
                                          monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    other, _ = self_signed(tmp_path / "other")
    monkeypatch.setenv("SSL_CERT_FILE", str(other))  # trusts another certificate only
    inbox, auth = starttls_server
    world.set_smtp(host="127.0.0.1", port=inbox.port, security="starttls", username=USER,
                   password=PASSWORD, from_address="noc@switch.test")
    with world.sessions.begin() as session:
        result = send_test_email(session, ADMIN, world.settings, "ops@acme.example")
    assert not result.sent and inbox.messages == [] and auth.logins == []
    assert result.error.startswith(f"the TLS certificate of 127.0.0.1:{inbox.port} is not "
                                   "trusted: ")


def test_implicit_tls_delivers(world: World, cert: tuple[Path, Path], trusted: Path) -> None:
    auth = Authenticator()
    with smtp_server(ssl_context=server_context(*cert), authenticator=auth,
                     auth_require_tls=False) as inbox:
        world.set_smtp(host="127.0.0.1", port=inbox.port, security="tls", username=USER,
                       password=PASSWORD, from_address="noc@switch.test")
        found = world.wait(world.email("ops@acme.example", "Implicit TLS", "body"))
        assert found["status"] == "sent", found
        assert [m["Subject"] for m in inbox.messages] == ["Implicit TLS"]
    assert [ok for _, _, ok in auth.logins] == [True]
