"""/api/v1/customers/{id}/ips, /sip-users and /payments: CRUD, errors, secrets, roles."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from orchestrator.customers import sip_users
from orchestrator.customers.models import CustomerIP, CustomerPayment, SipUser
from tests.api.conftest import Api

PASSWORD = "Tr0ub4dor&3-sip"


def customer_id(api: Api, name: str = "Acme", **fields: Any) -> int:
    answer = api.client.post("/api/v1/customers", headers=api.auth(),
                             json={"name": name, "currency": "EUR"} | fields)
    assert answer.status_code == 201, answer.json
    return int(answer.json["id"])


# --- IP auth entries ---------------------------------------------------------------

def test_ip_crud_and_list(api: Api) -> None:
    cid = customer_id(api)
    base = f"/api/v1/customers/{cid}/ips"
    added = api.client.post(base, headers=api.auth("oscar"),
                            json={"network": "2001:DB8::/32", "port": 5080})
    assert added.status_code == 201, added.json
    entry = added.json
    assert entry == {"id": entry["id"], "customer_id": cid, "network": "2001:db8::/32",
                     "port": 5080, "created_at": entry["created_at"]}
    host = api.client.post(base, headers=api.auth(), json={"network": " 192.0.2.7 "}).json
    assert host["network"] == "192.0.2.7/32" and host["port"] is None
    null_port = api.client.post(base, headers=api.auth(),
                                json={"network": "198.51.100.0/24", "port": None}).json
    assert null_port["port"] is None

    listing = api.client.get(base, headers=api.auth("vera")).json
    assert listing["total"] == 3 and listing["page"] == 1 and listing["per_page"] == 50
    assert [e["id"] for e in listing["items"]] == [entry["id"], host["id"], null_port["id"]]
    by_port = api.client.get(f"{base}?sort=-port,id", headers=api.auth()).json
    assert [e["port"] for e in by_port["items"]] == [5080, None, None]
    found = api.client.get(f"{base}?q=198.51", headers=api.auth()).json
    assert [e["id"] for e in found["items"]] == [null_port["id"]] and found["total"] == 1
    paged = api.client.get(f"{base}?per_page=1&page=2", headers=api.auth()).json
    assert [e["id"] for e in paged["items"]] == [host["id"]] and paged["total"] == 3
    bad_sort = api.client.get(f"{base}?sort=secret", headers=api.auth())
    assert bad_sort.status_code == 422 and list(bad_sort.json["errors"]) == ["sort"]

    assert api.client.delete(f"{base}/{host['id']}", headers=api.auth()).status_code == 204
    assert api.client.delete(f"{base}/{host['id']}", headers=api.auth()).status_code == 404
    with api.sessions() as session:
        assert sorted(e.id for e in session.query(CustomerIP)) == [entry["id"],
                                                                   null_port["id"]]


def test_ip_overlap_is_a_409_within_one_customer_only(api: Api) -> None:
    cid, other = customer_id(api), customer_id(api, "Other")
    base = f"/api/v1/customers/{cid}/ips"
    net = api.client.post(base, headers=api.auth(), json={"network": "192.0.2.0/24"})
    assert net.status_code == 201
    for body in ({"network": "192.0.2.7"}, {"network": "192.0.2.7", "port": 5060},
                 {"network": "192.0.0.0/16"}):
        clash = api.client.post(base, headers=api.auth(), json=body)
        assert clash.status_code == 409, body
        assert list(clash.json["errors"]) == ["network"]
        assert str(net.json["id"]) in clash.json["errors"]["network"][0]
    ported = api.client.post(base, headers=api.auth(),
                             json={"network": "198.51.100.1", "port": 5060})
    assert ported.status_code == 201
    other_port = api.client.post(base, headers=api.auth(),
                                 json={"network": "198.51.100.1", "port": 5061})
    assert other_port.status_code == 201  # same address, another port: no overlap
    shared = api.client.post(f"/api/v1/customers/{other}/ips", headers=api.auth(),
                             json={"network": "192.0.2.7"})
    assert shared.status_code == 201  # two customers may share an address
    with api.sessions() as session:
        assert session.query(CustomerIP).count() == 4


def test_ip_errors(api: Api) -> None:
    cid, other = customer_id(api), customer_id(api, "Other")
    base = f"/api/v1/customers/{cid}/ips"
    for body, fields in (({"network": "192.0.2.1/24"}, {"network"}),
                         ({"network": "not-an-ip", "port": 70000}, {"network", "port"}),
                         ({"network": "0.0.0.0/0"}, {"network"}),
                         ({"network": "192.0.2.1", "port": 0}, {"port"}),
                         ({"network": "192.0.2.1", "port": "x"}, {"port"}),
                         ({"network": "192.0.2.1", "colour": "red"}, {"colour"}),
                         ({}, {"network"})):
        answer = api.client.post(base, headers=api.auth(), json=body)
        assert answer.status_code == 422, body
        assert set(answer.json["errors"]) == fields, body
    entry = api.client.post(base, headers=api.auth(), json={"network": "192.0.2.1"}).json
    for method, path in (("get", "/api/v1/customers/999/ips"),
                         ("post", "/api/v1/customers/999/ips"),
                         ("delete", f"{base}/999"),
                         ("delete", f"/api/v1/customers/{other}/ips/{entry['id']}"),
                         ("delete", f"{base}/{2**70}")):
        answer = getattr(api.client, method)(path, headers=api.auth(),
                                             json={"network": "203.0.113.1"})
        assert answer.status_code == 404, (method, path)
    with api.sessions() as session:
        assert session.query(CustomerIP).count() == 1


# --- SIP users ---------------------------------------------------------------------

def test_sip_user_crud(api: Api) -> None:
    cid = customer_id(api)
    base = f"/api/v1/customers/{cid}/sip-users"
    added = api.client.post(base, headers=api.auth("oscar"), json={
        "username": "acme.trunk1", "password": PASSWORD, "channels": 10, "cps": 2,
        "allowed_ips": ["192.0.2.1", "198.51.100.0/24"]})
    assert added.status_code == 201, added.json
    user = added.json
    assert user == {"id": user["id"], "customer_id": cid, "username": "acme.trunk1",
                    "realm": user["realm"], "channels": 10, "cps": 2,
                    "allowed_ips": ["192.0.2.1/32", "198.51.100.0/24"],
                    "created_at": user["created_at"]}
    assert user["realm"]
    second = api.client.post(base, headers=api.auth(), json={
        "username": "acme-2", "password": PASSWORD, "allowed_ips": "10.0.0.0/8, 10.1.0.0/16"})
    assert second.status_code == 201
    assert second.json["allowed_ips"] == ["10.0.0.0/8", "10.1.0.0/16"]
    assert second.json["channels"] == 0 and second.json["cps"] == 0

    url = f"{base}/{user['id']}"
    changed = api.client.patch(url, headers=api.auth(), json={"cps": 5, "channels": None,
                                                               "allowed_ips": []})
    assert changed.status_code == 200, changed.json
    assert (changed.json["cps"], changed.json["channels"]) == (5, 10)
    assert changed.json["allowed_ips"] == []
    with api.sessions() as session:
        row = session.get(SipUser, user["id"])
        assert row is not None and row.ha1 == sip_users.compute_ha1("acme.trunk1", row.realm,
                                                                     PASSWORD)
    renamed = api.client.patch(url, headers=api.auth(),
                               json={"username": "acme.trunk9", "password": "another-pass1"})
    assert renamed.status_code == 200 and renamed.json["username"] == "acme.trunk9"
    with api.sessions() as session:
        row = session.get(SipUser, user["id"])
        assert row is not None and row.ha1 == sip_users.compute_ha1("acme.trunk9", row.realm,
                                                                     "another-pass1")

    listing = api.client.get(f"{base}?sort=-username", headers=api.auth("vera")).json
    assert listing["total"] == 2
    assert [u["username"] for u in listing["items"]] == ["acme.trunk9", "acme-2"]
    found = api.client.get(f"{base}?q=TRUNK", headers=api.auth()).json
    assert [u["id"] for u in found["items"]] == [user["id"]]
    bad_sort = api.client.get(f"{base}?sort=password", headers=api.auth())
    assert bad_sort.status_code == 422 and list(bad_sort.json["errors"]) == ["sort"]

    assert api.client.delete(url, headers=api.auth()).status_code == 204
    assert api.client.delete(url, headers=api.auth()).status_code == 404
    left = api.client.get(base, headers=api.auth()).json
    assert [u["id"] for u in left["items"]] == [second.json["id"]]


def test_sip_user_password_is_never_returned(api: Api) -> None:
    cid = customer_id(api)
    base = f"/api/v1/customers/{cid}/sip-users"
    created = api.client.post(base, headers=api.auth(),
                              json={"username": "secretive", "password": PASSWORD})
    url = f"{base}/{created.json['id']}"
    new_password = "n3w-and-secret"
    bodies = [created,
              api.client.patch(url, headers=api.auth(), json={"password": new_password}),
              api.client.get(base, headers=api.auth()),
              api.client.get(base, headers=api.auth("vera")),
              api.client.get(f"/api/v1/customers/{cid}", headers=api.auth()),
              api.client.get("/api/v1/audit?per_page=500", headers=api.auth())]
    assert [b.status_code for b in bodies] == [201, 200, 200, 200, 200, 200]
    with api.sessions() as session:
        ha1 = session.query(SipUser).one().ha1
    for body in bodies:
        text = body.get_data(as_text=True)
        for secret in (PASSWORD, new_password, ha1):
            assert secret not in text
    for body in bodies[:4]:
        items = body.json.get("items", [body.json])
        assert all("password" not in item and "ha1" not in item for item in items)


def test_sip_user_errors_and_conflicts(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    cid, other = customer_id(api), customer_id(api, "Other")
    base = f"/api/v1/customers/{cid}/sip-users"
    bad = api.client.post(base, headers=api.auth(), json={
        "username": "x", "password": "short", "channels": -1, "allowed_ips": ["nope"]})
    assert bad.status_code == 422
    assert set(bad.json["errors"]) == {"username", "password", "channels", "allowed_ips"}
    missing = api.client.post(base, headers=api.auth(), json={})
    assert set(missing.json["errors"]) == {"username", "password"}
    same = api.client.post(base, headers=api.auth(),
                           json={"username": "samesame", "password": "samesame"})
    assert same.status_code == 422 and list(same.json["errors"]) == ["password"]
    typed = api.client.post(base, headers=api.auth(), json={
        "username": "okname", "password": PASSWORD, "cps": "fast", "allowed_ips": 7,
        "ha1": "0" * 32})
    assert typed.status_code == 422
    assert set(typed.json["errors"]) == {"cps", "allowed_ips", "ha1"}

    user = api.client.post(base, headers=api.auth(),
                           json={"username": "taken1", "password": PASSWORD}).json
    dup = api.client.post(f"/api/v1/customers/{other}/sip-users", headers=api.auth(),
                          json={"username": "TAKEN1", "password": PASSWORD})
    assert dup.status_code == 409 and list(dup.json["errors"]) == ["username"]
    mine = api.client.post(base, headers=api.auth(),
                           json={"username": "mine22", "password": PASSWORD}).json
    rename = api.client.patch(f"{base}/{mine['id']}", headers=api.auth(),
                              json={"username": "taken1", "password": PASSWORD})
    assert rename.status_code == 409 and list(rename.json["errors"]) == ["username"]
    no_password = api.client.patch(f"{base}/{mine['id']}", headers=api.auth(),
                                   json={"username": "fresh1"})
    assert no_password.status_code == 422 and list(no_password.json["errors"]) == ["password"]

    monkeypatch.setattr(sip_users, "_check_username_free", lambda *_args: None)
    race = api.client.post(base, headers=api.auth(),
                           json={"username": "taken1", "password": PASSWORD})
    assert race.status_code == 409 and list(race.json["errors"]) == ["username"]

    for method, path in (("get", "/api/v1/customers/999/sip-users"),
                         ("post", "/api/v1/customers/999/sip-users"),
                         ("patch", f"{base}/999"), ("delete", f"{base}/999"),
                         ("patch", f"/api/v1/customers/{other}/sip-users/{user['id']}"),
                         ("delete", f"/api/v1/customers/{other}/sip-users/{user['id']}")):
        answer = getattr(api.client, method)(path, headers=api.auth(),
                                             json={"username": "nobody9", "password": PASSWORD}
                                             if method == "post" else {"cps": 1})
        assert answer.status_code == 404, (method, path)
    with api.sessions() as session:
        assert sorted(u.username for u in session.query(SipUser)) == ["mine22", "taken1"]


# --- payments ----------------------------------------------------------------------

def test_payments_and_balance(api: Api) -> None:
    cid = customer_id(api, debit_limit="10")
    base = f"/api/v1/customers/{cid}/payments"
    paid = api.client.post(base, headers=api.auth("oscar"), json={
        "amount": "100.50", "fee": "0.125", "description": "wire", "status": "completed"})
    assert paid.status_code == 201, paid.json
    assert paid.json["amount"] == "100.50" and paid.json["fee"] == "0.125"
    assert paid.json["status"] == "completed" and paid.json["customer_id"] == cid
    assert paid.json["description"] == "wire" and paid.json["created_at"].endswith("+00:00")
    refund = api.client.post(base, headers=api.auth(), json={"amount": -0.1}).json
    assert refund["amount"] == "-0.10" and refund["fee"] == "0.00"
    assert refund["status"] == "pending"
    exact = api.client.post(base, headers=api.auth(), json={"amount": "0.000001"}).json
    assert exact["amount"] == "0.000001"
    with api.sessions() as session:
        row = session.get(CustomerPayment, paid.json["id"])
        assert row is not None and Decimal(row.amount) == Decimal("100.50")

    def money() -> tuple[str, str]:
        got = api.client.get(f"/api/v1/customers/{cid}", headers=api.auth()).json
        return got["balance"], got["credit_available"]

    assert money() == ("100.50", "110.50")
    done = api.client.patch(f"{base}/{refund['id']}", headers=api.auth(),
                            json={"status": "completed"})
    assert done.status_code == 200 and done.json["status"] == "completed"
    assert money() == ("100.40", "110.40")
    cancel = api.client.patch(f"{base}/{refund['id']}", headers=api.auth(),
                              json={"status": "cancelled"})
    assert cancel.status_code == 200 and money() == ("100.50", "110.50")
    final = api.client.patch(f"{base}/{refund['id']}", headers=api.auth(),
                             json={"status": "pending"})
    assert final.status_code == 422 and list(final.json["errors"]) == ["status"]

    listing = api.client.get(base, headers=api.auth("vera")).json
    assert listing["total"] == 3
    assert [p["id"] for p in listing["items"]] == [exact["id"], refund["id"], paid.json["id"]]
    completed = api.client.get(f"{base}?status=completed&q=WIR", headers=api.auth()).json
    assert [p["id"] for p in completed["items"]] == [paid.json["id"]]
    by_amount = api.client.get(f"{base}?sort=amount", headers=api.auth()).json
    assert [p["amount"] for p in by_amount["items"]] == ["-0.10", "0.000001", "100.50"]
    paged = api.client.get(f"{base}?sort=id&per_page=1&page=3", headers=api.auth()).json
    assert [p["id"] for p in paged["items"]] == [exact["id"]] and paged["total"] == 3
    for query, field in (("sort=secret", "sort"), ("status=lost", "status")):
        bad = api.client.get(f"{base}?{query}", headers=api.auth())
        assert bad.status_code == 422 and list(bad.json["errors"]) == [field], query


def test_payment_errors(api: Api) -> None:
    cid = customer_id(api)
    base = f"/api/v1/customers/{cid}/payments"
    bad = api.client.post(base, headers=api.auth(), json={
        "amount": "0", "fee": "-1", "status": "lost", "description": "x" * 300})
    assert bad.status_code == 422
    assert set(bad.json["errors"]) == {"amount", "fee", "status", "description"}
    for amount in ("1.0000001", "1e20", "abc", "NaN"):
        answer = api.client.post(base, headers=api.auth(), json={"amount": amount})
        assert answer.status_code == 422 and list(answer.json["errors"]) == ["amount"], amount
    missing = api.client.post(base, headers=api.auth(), json={})
    assert list(missing.json["errors"]) == ["amount"]
    payment = api.client.post(base, headers=api.auth(), json={"amount": "5"}).json
    assert payment["amount"] == "5.00"
    wrong = api.client.patch(f"{base}/{payment['id']}", headers=api.auth(),
                             json={"status": "paid"})
    assert wrong.status_code == 422 and list(wrong.json["errors"]) == ["status"]
    amount = api.client.patch(f"{base}/{payment['id']}", headers=api.auth(),
                              json={"status": "completed", "amount": "9"})
    assert amount.status_code == 422 and list(amount.json["errors"]) == ["amount"]
    other = customer_id(api, "Other")
    for method, path in (("get", "/api/v1/customers/999/payments"),
                         ("post", "/api/v1/customers/999/payments"),
                         ("patch", f"{base}/999"),
                         ("patch", f"/api/v1/customers/{other}/payments/{payment['id']}")):
        answer = getattr(api.client, method)(path, headers=api.auth(),
                                             json={"amount": "1", "status": "completed"}
                                             if method == "post" else {"status": "completed"})
        assert answer.status_code == 404, (method, path)
    with api.sessions() as session:
        assert session.query(CustomerPayment).count() == 1
        assert session.query(CustomerPayment).one().status == "pending"


# --- auth and roles ----------------------------------------------------------------

def test_auth_and_roles(api: Api) -> None:
    cid = customer_id(api)
    root = f"/api/v1/customers/{cid}"
    ip = api.client.post(f"{root}/ips", headers=api.auth(),
                         json={"network": "192.0.2.1"}).json
    user = api.client.post(f"{root}/sip-users", headers=api.auth(),
                           json={"username": "trunk1", "password": PASSWORD}).json
    pay = api.client.post(f"{root}/payments", headers=api.auth(), json={"amount": "1"}).json
    writes = (("post", f"{root}/ips", {"network": "192.0.2.2"}),
              ("delete", f"{root}/ips/{ip['id']}", None),
              ("post", f"{root}/sip-users", {"username": "trunk2", "password": PASSWORD}),
              ("patch", f"{root}/sip-users/{user['id']}", {"cps": 3}),
              ("delete", f"{root}/sip-users/{user['id']}", None),
              ("post", f"{root}/payments", {"amount": "2"}),
              ("patch", f"{root}/payments/{pay['id']}", {"status": "completed"}))
    reads = tuple(("get", f"{root}/{kind}", None) for kind in ("ips", "sip-users", "payments"))
    for method, path, body in (*writes, *reads):
        answer = getattr(api.client, method)(path, json=body)
        assert answer.status_code == 401, (method, path)
    for method, path, body in writes:
        answer = getattr(api.client, method)(path, headers=api.auth("vera"), json=body)
        assert answer.status_code == 403, (method, path)
    for _, path, _ in reads:
        assert api.client.get(path, headers=api.auth("vera")).json["total"] == 1, path
    with api.sessions() as session:
        assert session.get(CustomerPayment, pay["id"]).status == "pending"  # type: ignore[union-attr]
    operator = api.auth("oscar")
    assert api.client.patch(f"{root}/sip-users/{user['id']}", headers=operator,
                            json={"cps": 3}).json["cps"] == 3
    assert api.client.delete(f"{root}/ips/{ip['id']}", headers=operator).status_code == 204
