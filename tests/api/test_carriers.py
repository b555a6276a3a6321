"""/api/v1/carriers: CRUD, write-only portal password, validation, conflicts, roles."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator import secrets
from orchestrator.carriers.models import Carrier
from tests.api.conftest import Api

SECRET = "  s3cret portal pw  "


def new_carrier(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"name": "Acme Telecom", "currency": "usd"} | fields
    answer = api.client.post("/api/v1/carriers", headers=api.auth(), json=body)
    assert answer.status_code == 201, answer.json
    return dict(answer.json)


def test_create_with_gateways_and_read_back(api: Api) -> None:
    created = new_carrier(api, country="gb", channels=120, cps=10, website="acme.example",
                          portal_username="ops", portal_password=SECRET, portal_access=True,
                          pre_ring_timeout=12, gateways=[
                              {"host": "192.0.2.10"},
                              {"host": "SBC.Acme.example", "port": 5080, "transport": "tcp",
                               "weight": 3, "enabled": False}])
    assert isinstance(created["id"], int)
    assert created["name"] == "Acme Telecom" and created["currency"] == "USD"
    assert created["country"] == "GB" and created["channels"] == 120 and created["cps"] == 10
    assert created["website"] == "https://acme.example"
    assert created["portal_username"] == "ops" and created["portal_access"] is True
    assert created["pre_ring_timeout"] == 12 and created["post_ring_timeout"] == 30
    assert created["status"] == "active" and created["balance"] == "0.00"
    assert created["portal_password_set"] is True and "portal_password" not in created
    gws = created["gateways"]
    assert [(g["host"], g["port"], g["transport"], g["weight"], g["enabled"]) for g in gws] \
        == [("192.0.2.10", 5060, "udp", 1, True), ("sbc.acme.example", 5080, "tcp", 3, False)]
    assert all(g["carrier_id"] == created["id"] for g in gws)

    got = api.client.get(f"/api/v1/carriers/{created['id']}", headers=api.auth("vera"))
    assert got.status_code == 200 and got.json == created
    with api.sessions() as session:
        row = session.get(Carrier, created["id"])
        assert row is not None and SECRET not in row.portal_password_encrypted
        assert secrets.decrypt(row.portal_password_encrypted) == SECRET


def test_patch_changes_only_given_fields_and_password(api: Api) -> None:
    carrier = new_carrier(api, city="Leeds", portal_password=SECRET)
    url = f"/api/v1/carriers/{carrier['id']}"
    changed = api.client.patch(url, headers=api.auth("oscar"), json={
        "status": "penalty", "city": None, "postcode": "LS1 1AA", "currency": "USD"})
    assert changed.status_code == 200, changed.json
    assert changed.json["status"] == "penalty" and changed.json["city"] == "Leeds"
    assert changed.json["postcode"] == "LS1 1AA" and changed.json["portal_password_set"]
    cleared = api.client.patch(url, headers=api.auth(), json={"portal_password": ""})
    assert cleared.status_code == 200 and cleared.json["portal_password_set"] is False
    fixed = api.client.patch(url, headers=api.auth(), json={"currency": "EUR"})
    assert fixed.status_code == 422 and list(fixed.json["errors"]) == ["currency"]


def test_list_search_sort_filter_and_page(api: Api) -> None:
    for name, status in (("Bravo", "active"), ("alpha", "inactive"), ("Charlie", "active")):
        new_carrier(api, name=name, status=status, city="Paris" if name == "Bravo" else "")
    listing = api.client.get("/api/v1/carriers?sort=-name&per_page=2&page=1",
                             headers=api.auth("vera")).json
    assert listing["total"] == 3 and listing["page"] == 1 and listing["per_page"] == 2
    assert [c["name"] for c in listing["items"]] == ["Charlie", "Bravo"]
    assert all(c["balance"] == "0.00" and "gateways" not in c for c in listing["items"])
    found = api.client.get("/api/v1/carriers?q=PARI", headers=api.auth()).json
    assert [c["name"] for c in found["items"]] == ["Bravo"] and found["total"] == 1
    active = api.client.get("/api/v1/carriers?status=active&sort=name", headers=api.auth()).json
    assert [c["name"] for c in active["items"]] == ["Bravo", "Charlie"]
    for query, field in (("sort=portal_password", "sort"), ("status=gone", "status"),
                         ("per_page=0", "per_page")):
        bad = api.client.get(f"/api/v1/carriers?{query}", headers=api.auth())
        assert bad.status_code == 422 and list(bad.json["errors"]) == [field], query


def test_delete(api: Api) -> None:
    carrier = new_carrier(api, gateways=[{"host": "192.0.2.1"}])
    url = f"/api/v1/carriers/{carrier['id']}"
    assert api.client.delete(url, headers=api.auth("oscar")).status_code == 204
    assert api.client.get(url, headers=api.auth()).status_code == 404
    assert api.client.delete(url, headers=api.auth()).status_code == 404


def test_validation_names_each_bad_field(api: Api) -> None:
    answer = api.client.post("/api/v1/carriers", headers=api.auth(), json={
        "name": "", "currency": "XAU", "country": "ZZ", "cps": -1, "pre_ring_timeout": 0,
        "website": "ftp://x", "gateways": [{"host": "192.0.2.1"}, {"host": "http://x"}]})
    assert answer.status_code == 422 and answer.json["message"] == "Validation failed"
    assert set(answer.json["errors"]) == {"name", "currency", "country", "cps",
                                          "pre_ring_timeout", "website", "gateways.1.host"}
    typed = api.client.post("/api/v1/carriers", headers=api.auth(), json={
        "name": "X", "currency": "USD", "channels": "many", "colour": "red",
        "gateways": [{"host": "192.0.2.1", "port": "x"}]})
    assert typed.status_code == 422
    assert set(typed.json["errors"]) == {"channels", "colour", "gateways.0.port"}
    missing = api.client.post("/api/v1/carriers", headers=api.auth(), json={})
    assert set(missing.json["errors"]) == {"name", "currency"}
    patch = api.client.patch(f"/api/v1/carriers/{new_carrier(api)['id']}", headers=api.auth(),
                             json={"paypal_email": "not-an-email", "cps": 10**9})
    assert patch.status_code == 422 and set(patch.json["errors"]) == {"paypal_email", "cps"}
    with api.sessions() as session:
        assert session.query(Carrier).count() == 1


def test_conflicts(api: Api) -> None:
    first = new_carrier(api)
    dup = api.client.post("/api/v1/carriers", headers=api.auth(),
                          json={"name": "ACME TELECOM", "currency": "EUR"})
    assert dup.status_code == 409 and list(dup.json["errors"]) == ["name"]
    other = new_carrier(api, name="Other")
    rename = api.client.patch(f"/api/v1/carriers/{other['id']}", headers=api.auth(),
                              json={"name": "acme telecom"})
    assert rename.status_code == 409 and list(rename.json["errors"]) == ["name"]
    twice = api.client.post("/api/v1/carriers", headers=api.auth(), json={
        "name": "Twice", "currency": "USD",
        "gateways": [{"host": "192.0.2.7"}, {"host": "192.0.2.7", "port": 5060}]})
    assert twice.status_code == 409 and list(twice.json["errors"]) == ["gateways.1.host"]
    assert first["id"] != other["id"]


def test_unknown_ids_are_404(api: Api) -> None:
    for method in ("get", "patch", "delete"):
        for ident in ("999", "0", str(2**70)):
            answer = getattr(api.client, method)(f"/api/v1/carriers/{ident}",
                                                 headers=api.auth(), json={})
            assert answer.status_code == 404, (method, ident)
            assert set(answer.json) == {"message", "errors"}


def test_auth_and_roles(api: Api) -> None:
    carrier = new_carrier(api)
    url = f"/api/v1/carriers/{carrier['id']}"
    for method, path in (("get", "/api/v1/carriers"), ("post", "/api/v1/carriers"),
                         ("get", url), ("patch", url), ("delete", url)):
        assert getattr(api.client, method)(path, json={}).status_code == 401, (method, path)
    viewer = api.auth("vera")
    assert api.client.get("/api/v1/carriers", headers=viewer).status_code == 200
    assert api.client.post("/api/v1/carriers", headers=viewer,
                           json={"name": "V", "currency": "USD"}).status_code == 403
    assert api.client.patch(url, headers=viewer, json={"city": "X"}).status_code == 403
    assert api.client.delete(url, headers=viewer).status_code == 403
    assert api.client.get(url, headers=viewer).json["city"] == ""


def test_portal_password_never_returned_nor_audited(api: Api) -> None:
    carrier = new_carrier(api, portal_password=SECRET)
    url = f"/api/v1/carriers/{carrier['id']}"
    bodies = [api.client.patch(url, headers=api.auth(), json={"portal_password": "new one!"}),
              api.client.get(url, headers=api.auth()), api.client.get("/api/v1/carriers",
                                                                       headers=api.auth()),
              api.client.get("/api/v1/audit?per_page=500", headers=api.auth())]
    assert all(b.status_code == 200 for b in bodies)
    for body in bodies:
        text = body.get_data(as_text=True)
        for secret in (SECRET, SECRET.strip(), "new one!", "gAAAAA"):
            assert secret not in text
    audit = bodies[-1].json["items"]
    update = next(e for e in audit if e["object_type"] == "carrier" and e["action"] == "update")
    assert update["after"]["portal_password_changed"] is True


def test_unusable_encryption_key_is_a_503(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "_key_source", lambda: "not a fernet key")
    answer = api.client.post("/api/v1/carriers", headers=api.auth(), json={
        "name": "Keyless", "currency": "USD", "portal_password": SECRET})
    assert answer.status_code == 503 and set(answer.json) == {"message", "errors"}
    assert "encryption key" in answer.json["message"] and SECRET not in answer.json["message"]
    with api.sessions() as session:
        assert session.query(Carrier).count() == 0
