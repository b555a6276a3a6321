"""/api/v1/users: CRUD, roles, per-field validation, conflicts, last-admin protection."""

from __future__ import annotations

from orchestrator.users.models import AdminUser, ApiToken
from orchestrator.users.passwords import verify_password
from tests.api.conftest import PASSWORD, Api


def test_viewer_reads_but_cannot_write_and_operator_cannot_manage_users(api: Api) -> None:
    assert api.client.get("/api/v1/tokens", headers=api.auth("vera")).status_code == 200
    for who in ("vera", "oscar"):
        listing = api.client.get("/api/v1/users", headers=api.auth(who))
        assert listing.status_code == 403
        assert "may not admin" in listing.json["message"]
        create = api.client.post("/api/v1/users", headers=api.auth(who),
                                 json={"username": "mallory", "password": PASSWORD})
        assert create.status_code == 403
    with api.sessions() as session:
        assert session.query(AdminUser).filter_by(username="mallory").count() == 0


def test_crud(api: Api) -> None:
    admin = api.auth()
    created = api.client.post("/api/v1/users", headers=admin, json={
        "username": "olga", "password": PASSWORD, "role": "operator"})
    assert created.status_code == 201
    user = created.json
    assert user["username"] == "olga" and user["role"] == "operator" and user["active"]
    assert "password" not in user and "password_hash" not in user
    got = api.client.get(f"/api/v1/users/{user['id']}", headers=admin)
    assert got.status_code == 200 and got.json == user

    changed = api.client.patch(f"/api/v1/users/{user['id']}", headers=admin, json={
        "role": "viewer", "password": "another long password"})
    assert changed.status_code == 200 and changed.json["role"] == "viewer"
    with api.sessions() as session:
        row = session.get(AdminUser, user["id"])
        assert row is not None and verify_password(row.password_hash, "another long password")

    listing = api.client.get("/api/v1/users?q=OLG&sort=-username", headers=admin).json
    assert listing["total"] == 1 and listing["items"][0]["id"] == user["id"]
    assert listing["page"] == 1 and listing["per_page"] == 50

    assert api.client.delete(f"/api/v1/users/{user['id']}", headers=admin).status_code == 204
    assert api.client.get(f"/api/v1/users/{user['id']}", headers=admin).status_code == 404


def test_list_sorts_and_pages(api: Api) -> None:
    page = api.client.get("/api/v1/users?sort=-username&per_page=2&page=2",
                          headers=api.auth()).json
    assert page["total"] == 3
    assert [u["username"] for u in page["items"]] == ["alice"]
    bad = api.client.get("/api/v1/users?sort=password_hash", headers=api.auth())
    assert bad.status_code == 422 and list(bad.json["errors"]) == ["sort"]


def test_validation_errors_name_each_field(api: Api) -> None:
    answer = api.client.post("/api/v1/users", headers=api.auth(), json={
        "username": "", "password": "short", "role": "root", "active": "maybe"})
    assert answer.status_code == 422
    assert answer.json["message"] == "Validation failed"
    assert set(answer.json["errors"]) == {"username", "password", "role", "active"}
    assert all(isinstance(m, list) and m for m in answer.json["errors"].values())

    service_level = api.client.post("/api/v1/users", headers=api.auth(), json={
        "username": "bad name!", "password": PASSWORD})
    assert service_level.status_code == 422
    assert list(service_level.json["errors"]) == ["username"]

    missing = api.client.post("/api/v1/users", headers=api.auth(), json={})
    assert set(missing.json["errors"]) == {"username", "password"}
    not_json = api.client.post("/api/v1/users", headers=api.auth(), data="x",
                               content_type="application/json")
    assert not_json.status_code == 422 and "body" in not_json.json["errors"]
    unknown = api.client.post("/api/v1/users", headers=api.auth(), json={
        "username": "u1", "password": PASSWORD, "colour": "red"})
    assert unknown.status_code == 422 and list(unknown.json["errors"]) == ["colour"]


def test_duplicate_username_is_409(api: Api) -> None:
    answer = api.client.post("/api/v1/users", headers=api.auth(), json={
        "username": "oscar", "password": PASSWORD})
    assert answer.status_code == 409
    assert answer.json["errors"] == {"username": ["'oscar' already exists"]}
    rename = api.client.patch(f"/api/v1/users/{api.user_id('vera')}", headers=api.auth(),
                              json={"username": "oscar"})
    assert rename.status_code == 409


def test_last_active_admin_cannot_lose_access(api: Api) -> None:
    admin, alice = api.auth(), api.user_id("alice")
    for change, field in (({"role": "viewer"}, "role"), ({"active": False}, "active")):
        answer = api.client.patch(f"/api/v1/users/{alice}", headers=admin, json=change)
        assert answer.status_code == 409, change
        assert list(answer.json["errors"]) == [field]
    assert api.client.delete(f"/api/v1/users/{alice}", headers=admin).status_code == 409
    # With a second admin, alice may step down.
    oscar = api.user_id("oscar")
    assert api.client.patch(f"/api/v1/users/{oscar}", headers=admin,
                            json={"role": "admin"}).status_code == 200
    demoted = api.client.patch(f"/api/v1/users/{alice}", headers=admin,
                               json={"role": "viewer"})
    assert demoted.status_code == 200 and demoted.json["role"] == "viewer"
    assert api.client.get("/api/v1/users", headers=admin).status_code == 403  # now a viewer


def test_unknown_ids_are_404(api: Api) -> None:
    admin = api.auth()
    for path in ("/api/v1/users/999", "/api/v1/users/0", f"/api/v1/users/{2**70}"):
        answer = api.client.get(path, headers=admin)
        assert answer.status_code == 404, path
        assert set(answer.json) == {"message", "errors"}
    assert api.client.delete("/api/v1/tokens/999", headers=admin).status_code == 404
    assert api.client.patch("/api/v1/users/999", headers=admin,
                            json={"active": True}).status_code == 404


def test_deleting_a_user_ends_their_tokens(api: Api) -> None:
    created = api.client.post("/api/v1/users", headers=api.auth(), json={
        "username": "temp", "password": PASSWORD, "role": "operator"}).json
    headers = {"Authorization": f"Bearer {api.token('temp')}"}
    assert api.client.get("/api/v1/tokens", headers=headers).status_code == 200
    assert api.client.delete(f"/api/v1/users/{created['id']}",
                             headers=api.auth()).status_code == 204
    assert api.client.get("/api/v1/tokens", headers=headers).status_code == 401
    with api.sessions() as session:
        assert session.query(ApiToken).filter_by(user_id=created["id"]).count() == 0
