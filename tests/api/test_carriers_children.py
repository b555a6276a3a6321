"""/api/v1/carriers/{id}/gateways and /payments: CRUD, money strings, errors, roles."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from orchestrator.carriers.models import CarrierPayment, Gateway
from tests.api.conftest import Api


def carrier_id(api: Api, name: str = "Acme", **fields: Any) -> int:
    answer = api.client.post("/api/v1/carriers", headers=api.auth(),
                             json={"name": name, "currency": "EUR"} | fields)
    assert answer.status_code == 201, answer.json
    return int(answer.json["id"])


def test_gateway_crud(api: Api) -> None:
    cid = carrier_id(api)
    base = f"/api/v1/carriers/{cid}/gateways"
    added = api.client.post(base, headers=api.auth("oscar"), json={
        "host": "[2001:DB8::1]", "port": 5080, "transport": "TCP", "weight": 5})
    assert added.status_code == 201, added.json
    gw = added.json
    assert gw == {"id": gw["id"], "carrier_id": cid, "host": "2001:db8::1", "port": 5080,
                  "transport": "tcp", "weight": 5, "enabled": True}
    second = api.client.post(base, headers=api.auth(), json={"host": "a.example"}).json
    assert (second["port"], second["transport"], second["weight"]) == (5060, "udp", 1)

    changed = api.client.patch(f"{base}/{gw['id']}", headers=api.auth(),
                               json={"enabled": False, "weight": None})
    assert changed.status_code == 200 and changed.json["enabled"] is False
    assert changed.json["weight"] == 5
    with api.sessions() as session:
        row = session.get(Gateway, gw["id"])
        assert row is not None and row.enabled is False and row.host == "2001:db8::1"

    listing = api.client.get(f"{base}?sort=-host", headers=api.auth("vera")).json
    assert listing["total"] == 2 and listing["page"] == 1 and listing["per_page"] == 50
    assert [g["host"] for g in listing["items"]] == ["a.example", "2001:db8::1"]
    found = api.client.get(f"{base}?q=A.EXA&per_page=1", headers=api.auth()).json
    assert found["total"] == 1 and found["items"][0]["id"] == second["id"]
    paged = api.client.get(f"{base}?sort=id&per_page=1&page=2", headers=api.auth()).json
    assert [g["id"] for g in paged["items"]] == [second["id"]] and paged["total"] == 2
    bad_sort = api.client.get(f"{base}?sort=password", headers=api.auth())
    assert bad_sort.status_code == 422 and list(bad_sort.json["errors"]) == ["sort"]

    assert api.client.delete(f"{base}/{gw['id']}", headers=api.auth()).status_code == 204
    assert api.client.delete(f"{base}/{gw['id']}", headers=api.auth()).status_code == 404
    carrier = api.client.get(f"/api/v1/carriers/{cid}", headers=api.auth()).json
    assert [g["id"] for g in carrier["gateways"]] == [second["id"]]


def test_gateway_errors(api: Api) -> None:
    cid, other = carrier_id(api), carrier_id(api, "Other")
    base = f"/api/v1/carriers/{cid}/gateways"
    bad = api.client.post(base, headers=api.auth(), json={
        "host": "http://x", "port": 70000, "transport": "sctp", "weight": 0})
    assert bad.status_code == 422
    assert set(bad.json["errors"]) == {"host", "port", "transport", "weight"}
    assert api.client.post(base, headers=api.auth(), json={}).json["errors"].keys() == {"host"}
    gw = api.client.post(base, headers=api.auth(), json={"host": "192.0.2.9"}).json
    dup = api.client.post(base, headers=api.auth(), json={"host": "192.0.2.9", "port": 5060})
    assert dup.status_code == 409 and list(dup.json["errors"]) == ["host"]
    tcp = api.client.post(base, headers=api.auth(),
                          json={"host": "192.0.2.9", "transport": "tcp"}).json
    clash = api.client.patch(f"{base}/{tcp['id']}", headers=api.auth(),
                             json={"transport": "udp"})
    assert clash.status_code == 409 and list(clash.json["errors"]) == ["host"]
    bad_patch = api.client.patch(f"{base}/{gw['id']}", headers=api.auth(),
                                 json={"host": "sip:x.example"})
    assert bad_patch.status_code == 422 and list(bad_patch.json["errors"]) == ["host"]
    shared = api.client.post(f"/api/v1/carriers/{other}/gateways", headers=api.auth(),
                             json={"host": "192.0.2.9"})
    assert shared.status_code == 201  # two carriers may share an address
    for method, path in (("get", "/api/v1/carriers/999/gateways"),
                         ("post", "/api/v1/carriers/999/gateways"),
                         ("patch", f"{base}/999"), ("delete", f"{base}/999"),
                         ("patch", f"/api/v1/carriers/{other}/gateways/{gw['id']}"),
                         ("delete", f"/api/v1/carriers/999/gateways/{gw['id']}")):
        answer = getattr(api.client, method)(path, headers=api.auth(),
                                             json={"host": "192.0.2.50"})
        assert answer.status_code == 404, (method, path)


def test_payments_and_balance(api: Api) -> None:
    cid = carrier_id(api)
    base = f"/api/v1/carriers/{cid}/payments"
    paid = api.client.post(base, headers=api.auth("oscar"), json={
        "amount": "100.50", "fee": "0.125", "description": "wire", "status": "completed"})
    assert paid.status_code == 201, paid.json
    assert paid.json["amount"] == "100.50" and paid.json["fee"] == "0.125"
    assert paid.json["status"] == "completed" and paid.json["carrier_id"] == cid
    assert paid.json["description"] == "wire" and paid.json["created_at"].endswith("+00:00")
    refund = api.client.post(base, headers=api.auth(), json={"amount": -0.1}).json
    assert refund["amount"] == "-0.10" and refund["fee"] == "0.00"
    assert refund["status"] == "pending"
    exact = api.client.post(base, headers=api.auth(), json={"amount": "0.000001"}).json
    assert exact["amount"] == "0.000001"
    with api.sessions() as session:
        row = session.get(CarrierPayment, paid.json["id"])
        assert row is not None and Decimal(row.amount) == Decimal("100.50")

    def balance() -> str:
        return str(api.client.get(f"/api/v1/carriers/{cid}", headers=api.auth()).json[
            "balance"])

    assert balance() == "100.50"
    done = api.client.patch(f"{base}/{refund['id']}", headers=api.auth(),
                            json={"status": "completed"})
    assert done.status_code == 200 and done.json["status"] == "completed"
    assert balance() == "100.40"
    cancel = api.client.patch(f"{base}/{refund['id']}", headers=api.auth(),
                              json={"status": "cancelled"})
    assert cancel.status_code == 200 and balance() == "100.50"
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


def test_payment_errors(api: Api) -> None:
    cid = carrier_id(api)
    base = f"/api/v1/carriers/{cid}/payments"
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
    other = carrier_id(api, "Other")
    for method, path in (("get", "/api/v1/carriers/999/payments"),
                         ("post", "/api/v1/carriers/999/payments"),
                         ("patch", f"{base}/999"),
                         ("patch", f"/api/v1/carriers/{other}/payments/{payment['id']}")):
        answer = getattr(api.client, method)(path, headers=api.auth(),
                                             json={"amount": "1", "status": "completed"}
                                             if method == "post" else {"status": "completed"})
        assert answer.status_code == 404, (method, path)
    with api.sessions() as session:
        assert session.query(CarrierPayment).count() == 1


def test_auth_and_roles(api: Api) -> None:
    cid = carrier_id(api)
    gw = api.client.post(f"/api/v1/carriers/{cid}/gateways", headers=api.auth(),
                         json={"host": "192.0.2.1"}).json
    pay = api.client.post(f"/api/v1/carriers/{cid}/payments", headers=api.auth(),
                          json={"amount": "1"}).json
    gws, pays = f"/api/v1/carriers/{cid}/gateways", f"/api/v1/carriers/{cid}/payments"
    calls = (("post", gws, {"host": "192.0.2.2"}), ("patch", f"{gws}/{gw['id']}",
                                                     {"weight": 2}),
             ("delete", f"{gws}/{gw['id']}", None), ("post", pays, {"amount": "2"}),
             ("patch", f"{pays}/{pay['id']}", {"status": "completed"}))
    for method, path, body in (*calls, ("get", gws, None), ("get", pays, None)):
        answer = getattr(api.client, method)(path, json=body)
        assert answer.status_code == 401, (method, path)
    for method, path, body in calls:
        answer = getattr(api.client, method)(path, headers=api.auth("vera"), json=body)
        assert answer.status_code == 403, (method, path)
    assert api.client.get(gws, headers=api.auth("vera")).json["total"] == 1
    assert api.client.get(pays, headers=api.auth("vera")).json["items"][0]["status"] == \
        "pending"


def test_list_shows_each_carriers_balance_computed_in_one_query(api: Api) -> None:
    from sqlalchemy import event

    amounts = {"Alpha": ["10.25", "5"], "Beta": [], "Gamma": ["-1.50"]}
    for name, payments in amounts.items():
        cid = carrier_id(api, name)
        for amount in payments:
            assert api.client.post(f"/api/v1/carriers/{cid}/payments", headers=api.auth(),
                                   json={"amount": amount, "status": "completed"}
                                   ).status_code == 201
        api.client.post(f"/api/v1/carriers/{cid}/payments", headers=api.auth(),
                        json={"amount": "1000"})  # pending: not in the balance
    engine = api.app.extensions["webui"].engine
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        listed = api.client.get("/api/v1/carriers?sort=name", headers=api.auth())
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert listed.status_code == 200
    assert {c["name"]: c["balance"] for c in listed.json["items"]} == {
        "Alpha": "15.25", "Beta": "0.00", "Gamma": "-1.50"}
    assert sum("carrier_payments" in s for s in statements) == 1
