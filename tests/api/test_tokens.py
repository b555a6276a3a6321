"""POST /tokens, bearer authentication, listing and revoking tokens."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from orchestrator.db.types import utcnow
from orchestrator.users.models import AdminUser, ApiToken
from tests.api.conftest import PASSWORD, Api
from webui.auth import session_stamp


def test_token_from_password_works_and_only_its_hash_is_stored(api: Api) -> None:
    answer = api.client.post("/api/v1/tokens", json={"username": "alice", "password": PASSWORD,
                                                     "name": "billing sync"})
    assert answer.status_code == 201, answer.json
    body = answer.json
    assert body["token"].startswith("orc_") and body["username"] == "alice"
    assert body["role"] == "admin" and body["name"] == "billing sync"
    assert "password" not in body
    assert "Set-Cookie" not in answer.headers  # the API never starts a web session
    with api.sessions() as session:
        row = session.get(ApiToken, body["id"])
        assert row is not None
        assert row.token_hash == hashlib.sha256(body["token"].encode()).hexdigest()
        assert body["token"] not in (row.token_hash, row.prefix, row.name)
    me = api.client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert [t["id"] for t in me.json["items"]] == [body["id"]]
    assert "token" not in me.json["items"][0]


def test_wrong_password_is_401_and_then_throttled(api: Api) -> None:
    for _ in range(5):
        bad = api.client.post("/api/v1/tokens", json={"username": "alice",
                                                      "password": "not the password"})
        assert bad.status_code == 401
        assert bad.json == {"message": "Invalid username or password", "errors": {}}
    blocked = api.client.post("/api/v1/tokens", json={"username": "alice",
                                                      "password": PASSWORD})
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0


def test_inactive_user_gets_no_token(api: Api) -> None:
    admin = api.auth()
    patch = api.client.patch(f"/api/v1/users/{api.user_id('vera')}", json={"active": False},
                             headers=admin)
    assert patch.status_code == 200
    answer = api.client.post("/api/v1/tokens", json={"username": "vera", "password": PASSWORD})
    assert answer.status_code == 401


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic YWxpY2U6eA==",
                                    "Bearer two words", "Token abc"])
def test_missing_or_malformed_header_is_401(api: Api, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    answer = api.client.get("/api/v1/tokens", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="orchestrator"')
    assert set(answer.json) == {"message", "errors"}


def test_unknown_token_is_401_invalid_token(api: Api) -> None:
    answer = api.client.get("/api/v1/users", headers={"Authorization": "Bearer orc_nope"})
    assert answer.status_code == 401
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


def test_revoked_token_is_refused(api: Api) -> None:
    clear = api.token("oscar")
    headers = {"Authorization": f"Bearer {clear}"}
    listing = api.client.get("/api/v1/tokens", headers=headers)
    assert listing.status_code == 200
    token_id = listing.json["items"][0]["id"]
    assert api.client.delete(f"/api/v1/tokens/{token_id}", headers=headers).status_code == 204
    assert api.client.get("/api/v1/tokens", headers=headers).status_code == 401
    mine = api.client.get("/api/v1/tokens", headers=api.auth("oscar")).json["items"]
    revoked = next(t for t in mine if t["id"] == token_id)
    assert revoked["active"] is False and revoked["revoked_at"] is not None


def test_expired_token_is_refused(api: Api) -> None:
    clear = api.token("oscar", expires_in_days=1)
    headers = {"Authorization": f"Bearer {clear}"}
    assert api.client.get("/api/v1/tokens", headers=headers).status_code == 200
    with api.sessions.begin() as session:
        row = session.query(ApiToken).filter_by(prefix=clear[:12]).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
    assert api.client.get("/api/v1/tokens", headers=headers).status_code == 401


def test_session_cookie_is_not_accepted(api: Api) -> None:
    """Signed in to the web admin (cookie), the API still wants a bearer token."""
    with api.sessions() as db:
        alice = db.query(AdminUser).filter_by(username="alice").one()
    with api.client.session_transaction() as session:
        session["user_id"] = alice.id
        session["stamp"] = session_stamp(alice)
    assert api.client.get("/account/password").status_code == 200  # the cookie is good
    answer = api.client.get("/api/v1/users")
    assert answer.status_code == 401


def test_api_posts_need_no_csrf_token(api: Api) -> None:
    answer = api.client.post("/api/v1/users", headers=api.auth(),
                             json={"username": "newbie", "password": PASSWORD})
    assert answer.status_code == 201


def test_tokens_of_others_are_hidden_except_for_admins(api: Api) -> None:
    oscar_id = api.token("oscar") and api.client.get(
        "/api/v1/tokens", headers=api.auth("oscar")).json["items"][0]["id"]
    vera = api.auth("vera")
    assert api.client.delete(f"/api/v1/tokens/{oscar_id}", headers=vera).status_code == 404
    assert api.client.get("/api/v1/tokens?all=true", headers=vera).status_code == 403
    everyone = api.client.get("/api/v1/tokens?all=true", headers=api.auth()).json
    assert {t["username"] for t in everyone["items"]} >= {"alice", "oscar", "vera"}
    assert api.client.delete(f"/api/v1/tokens/{oscar_id}", headers=api.auth()).status_code == 204
