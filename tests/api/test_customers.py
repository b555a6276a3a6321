"""/api/v1/customers: CRUD, balance and credit, validation, conflicts, roles."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event

from orchestrator.customers import payments, service
from orchestrator.customers.models import Customer, CustomerPayment
from tests.api.conftest import Api

BASE = "/api/v1/customers"


def new_customer(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"name": "Acme Retail", "currency": "usd"} | fields
    answer = api.client.post(BASE, headers=api.auth(), json=body)
    assert answer.status_code == 201, answer.json
    return dict(answer.json)


def pay(api: Api, customer_id: int, amount: str, status: str = "completed") -> None:
    answer = api.client.post(f"{BASE}/{customer_id}/payments", headers=api.auth(),
                             json={"amount": amount, "status": status})
    assert answer.status_code == 201, answer.json


@contextmanager
def counting_queries(api: Api) -> Iterator[list[str]]:
    """The SQL statements the app runs inside the block."""
    engine = api.app.extensions["webui"].engine
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_create_and_read_back(api: Api) -> None:
    created = new_customer(api, status="pending_approval", tax_percent="20.5",
                           debit_limit=50, channels=30, cps=5, paypal_email="pay@acme.example",
                           website="https://acme.example", portal_access=True,
                           address_lines=["1 High Street", "  Floor 2 "], city="Leeds",
                           postcode="LS1 1AA", country="gb", email="ops@acme.example",
                           mobile="+44 7400 123456", email_verified=True,
                           verification_required=True)
    assert isinstance(created["id"], int)
    assert created["name"] == "Acme Retail" and created["currency"] == "USD"
    assert created["status"] == "pending_approval" and created["country"] == "GB"
    assert created["tax_percent"] == "20.5" and created["debit_limit"] == "50.00"
    assert (created["channels"], created["cps"]) == (30, 5)
    assert created["address_lines"] == ["1 High Street", "Floor 2"]
    assert created["mobile"] == "+447400123456" and created["email_verified"] is True
    assert created["mobile_verified"] is False and created["verification_required"] is True
    assert created["balance"] == "0.00" and created["credit_available"] == "50.00"
    assert created["created_at"].endswith("+00:00")

    got = api.client.get(f"{BASE}/{created['id']}", headers=api.auth("vera"))
    assert got.status_code == 200 and got.json == created
    with api.sessions() as session:
        row = session.get(Customer, created["id"])
        assert row is not None and row.debit_limit == Decimal(50)
        assert row.address_lines == "1 High Street\nFloor 2"


def test_defaults_and_address_as_one_string(api: Api) -> None:
    created = new_customer(api, address_lines="Unit 4\nDock Road")
    assert created["address_lines"] == ["Unit 4", "Dock Road"]
    assert created["status"] == "active" and created["tax_percent"] == "0"
    assert created["debit_limit"] == "0.00" and created["portal_access"] is False


def test_patch_changes_only_given_fields(api: Api) -> None:
    customer = new_customer(api, city="Leeds", email="a@acme.example", email_verified=True)
    url = f"{BASE}/{customer['id']}"
    changed = api.client.patch(url, headers=api.auth("oscar"), json={
        "status": "penalty", "city": None, "postcode": "LS1 1AA", "currency": "USD",
        "debit_limit": "10.5"})
    assert changed.status_code == 200, changed.json
    assert changed.json["status"] == "penalty" and changed.json["city"] == "Leeds"
    assert changed.json["postcode"] == "LS1 1AA" and changed.json["email_verified"] is True
    assert changed.json["debit_limit"] == "10.50" and changed.json["credit_available"] == "10.50"
    new_mail = api.client.patch(url, headers=api.auth(), json={"email": "b@acme.example"})
    assert new_mail.status_code == 200 and new_mail.json["email_verified"] is False
    fixed = api.client.patch(url, headers=api.auth(), json={"currency": "EUR"})
    assert fixed.status_code == 422 and list(fixed.json["errors"]) == ["currency"]
    with api.sessions() as session:
        row = session.get(Customer, customer["id"])
        assert row is not None and row.currency == "USD" and row.status == "penalty"


def test_balance_and_credit_follow_completed_payments(api: Api) -> None:
    customer = new_customer(api, debit_limit="25")
    url = f"{BASE}/{customer['id']}"
    pay(api, customer["id"], "100.50")
    pay(api, customer["id"], "40", status="pending")
    detail = api.client.get(url, headers=api.auth("vera")).json
    assert (detail["balance"], detail["credit_available"]) == ("100.50", "125.50")
    listed = api.client.get(BASE, headers=api.auth("vera")).json["items"]
    assert [(c["balance"], c["credit_available"]) for c in listed] == [("100.50", "125.50")]
    pays = api.client.get(f"{url}/payments?status=pending", headers=api.auth()).json
    pending_id = pays["items"][0]["id"]
    done = api.client.patch(f"{url}/payments/{pending_id}", headers=api.auth(),
                            json={"status": "completed"})
    assert done.status_code == 200
    assert api.client.get(url, headers=api.auth()).json["balance"] == "140.50"
    pay(api, customer["id"], "-200.5")
    after = api.client.get(url, headers=api.auth()).json
    assert (after["balance"], after["credit_available"]) == ("-60.00", "-35.00")


def test_list_search_sort_filter_and_page(api: Api) -> None:
    for name, status in (("Bravo", "active"), ("alpha", "inactive"), ("Charlie", "active")):
        new_customer(api, name=name, status=status, city="Paris" if name == "Bravo" else "")
    listing = api.client.get(f"{BASE}?sort=-name&per_page=2&page=1",
                             headers=api.auth("vera")).json
    assert listing["total"] == 3 and listing["page"] == 1 and listing["per_page"] == 2
    assert [c["name"] for c in listing["items"]] == ["Charlie", "Bravo"]
    assert all(c["balance"] == "0.00" and c["credit_available"] == "0.00"
               for c in listing["items"])
    second = api.client.get(f"{BASE}?sort=-name&per_page=2&page=2", headers=api.auth()).json
    assert [c["name"] for c in second["items"]] == ["alpha"] and second["total"] == 3
    found = api.client.get(f"{BASE}?q=PARI", headers=api.auth()).json
    assert [c["name"] for c in found["items"]] == ["Bravo"] and found["total"] == 1
    active = api.client.get(f"{BASE}?status=active&sort=name", headers=api.auth()).json
    assert [c["name"] for c in active["items"]] == ["Bravo", "Charlie"]
    for query, field in (("sort=debit_limit", "sort"), ("status=gone", "status"),
                         ("per_page=0", "per_page"), ("page=0", "page")):
        bad = api.client.get(f"{BASE}?{query}", headers=api.auth())
        assert bad.status_code == 422 and list(bad.json["errors"]) == [field], query


def test_list_balances_are_computed_once_per_page(api: Api,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    ids = [new_customer(api, name=f"Customer {n}")["id"] for n in range(6)]
    for cid in ids:
        pay(api, cid, "1.25")
    calls: list[list[int]] = []
    real = payments.balances

    def spy(session: Any, customer_ids: Any) -> Any:
        calls.append(list(customer_ids))
        return real(session, customer_ids)

    monkeypatch.setattr(payments, "balances", spy)
    with counting_queries(api) as small:
        api.client.get(f"{BASE}?per_page=2", headers=api.auth())
    with counting_queries(api) as large:
        answer = api.client.get(f"{BASE}?per_page=6", headers=api.auth())
    assert [c["balance"] for c in answer.json["items"]] == ["1.25"] * 6
    assert len(calls) == 2 and sorted(calls[1]) == sorted(ids)
    assert len(large) == len(small), "one query per row: balances must be batched"


def test_delete(api: Api) -> None:
    customer = new_customer(api)
    url = f"{BASE}/{customer['id']}"
    pay(api, customer["id"], "5")
    api.client.post(f"{url}/ips", headers=api.auth(), json={"network": "192.0.2.1"})
    assert api.client.delete(url, headers=api.auth("oscar")).status_code == 204
    assert api.client.get(url, headers=api.auth()).status_code == 404
    assert api.client.delete(url, headers=api.auth()).status_code == 404
    with api.sessions() as session:
        assert session.query(CustomerPayment).count() == 0


def test_delete_in_use_is_a_409(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    customer = new_customer(api)
    monkeypatch.setattr(service, "usage", lambda _session, _customer: ["ingress route 7"])
    answer = api.client.delete(f"{BASE}/{customer['id']}", headers=api.auth())
    assert answer.status_code == 409 and list(answer.json["errors"]) == ["id"]
    assert "ingress route 7" in answer.json["errors"]["id"][0]
    with api.sessions() as session:
        assert session.get(Customer, customer["id"]) is not None


def test_validation_names_each_bad_field(api: Api) -> None:
    answer = api.client.post(BASE, headers=api.auth(), json={
        "name": "", "currency": "XAU", "country": "ZZ", "cps": -1, "tax_percent": "101",
        "debit_limit": "1.0000001", "website": "ftp://x", "email": "nobody",
        "mobile": "12345", "status": "sleeping"})
    assert answer.status_code == 422 and answer.json["message"] == "Validation failed"
    assert set(answer.json["errors"]) == {"name", "currency", "country", "cps", "tax_percent",
                                          "debit_limit", "website", "email", "mobile",
                                          "status"}
    typed = api.client.post(BASE, headers=api.auth(), json={
        "name": "X", "currency": "USD", "channels": "many", "colour": "red",
        "portal_access": "perhaps", "address_lines": [1, 2], "debit_limit": "NaN"})
    assert typed.status_code == 422
    assert set(typed.json["errors"]) == {"channels", "colour", "portal_access",
                                         "address_lines", "debit_limit"}
    missing = api.client.post(BASE, headers=api.auth(), json={})
    assert set(missing.json["errors"]) == {"name", "currency"}
    patch = api.client.patch(f"{BASE}/{new_customer(api)['id']}", headers=api.auth(),
                             json={"paypal_email": "not-an-email", "cps": 10**9})
    assert patch.status_code == 422 and set(patch.json["errors"]) == {"paypal_email", "cps"}
    not_json = api.client.post(BASE, headers={**api.auth(), "Content-Type": "application/json"},
                               data="{oops")
    assert not_json.status_code == 422 and "body" in not_json.json["errors"]
    with api.sessions() as session:
        assert session.query(Customer).count() == 1


def test_name_conflicts(api: Api) -> None:
    first = new_customer(api)
    dup = api.client.post(BASE, headers=api.auth(), json={"name": "ACME RETAIL",
                                                          "currency": "EUR"})
    assert dup.status_code == 409 and list(dup.json["errors"]) == ["name"]
    other = new_customer(api, name="Other")
    rename = api.client.patch(f"{BASE}/{other['id']}", headers=api.auth(),
                              json={"name": "acme retail"})
    assert rename.status_code == 409 and list(rename.json["errors"]) == ["name"]
    same = api.client.patch(f"{BASE}/{first['id']}", headers=api.auth(),
                            json={"name": "ACME Retail"})
    assert same.status_code == 200 and same.json["name"] == "ACME Retail"


def test_concurrent_duplicate_name_is_a_409(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The unique index catches what the check missed (another writer won the race)."""
    new_customer(api, name="Racer")
    monkeypatch.setattr(service, "_check_name_free", lambda *_args, **_kw: None)
    answer = api.client.post(BASE, headers=api.auth(), json={"name": "Racer",
                                                             "currency": "USD"})
    assert answer.status_code == 409 and list(answer.json["errors"]) == ["name"]
    other = new_customer(api, name="Slower")
    renamed = api.client.patch(f"{BASE}/{other['id']}", headers=api.auth(),
                               json={"name": "Racer"})
    assert renamed.status_code == 409 and list(renamed.json["errors"]) == ["name"]
    with api.sessions() as session:
        assert sorted(c.name for c in session.query(Customer)) == ["Racer", "Slower"]


def test_unknown_ids_are_404(api: Api) -> None:
    for method in ("get", "patch", "delete"):
        for ident in ("999", "0", str(2**70)):
            answer = getattr(api.client, method)(f"{BASE}/{ident}", headers=api.auth(),
                                                 json={})
            assert answer.status_code == 404, (method, ident)
            assert set(answer.json) == {"message", "errors"}


def test_auth_and_roles(api: Api) -> None:
    customer = new_customer(api)
    url = f"{BASE}/{customer['id']}"
    for method, path in (("get", BASE), ("post", BASE), ("get", url), ("patch", url),
                         ("delete", url)):
        answer = getattr(api.client, method)(path, json={})
        assert answer.status_code == 401, (method, path)
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    bad_token = api.client.get(BASE, headers={"Authorization": "Bearer orc_nope"})
    assert bad_token.status_code == 401
    viewer = api.auth("vera")
    assert api.client.get(BASE, headers=viewer).json["total"] == 1
    assert api.client.post(BASE, headers=viewer,
                           json={"name": "V", "currency": "USD"}).status_code == 403
    assert api.client.patch(url, headers=viewer, json={"city": "X"}).status_code == 403
    assert api.client.delete(url, headers=viewer).status_code == 403
    assert api.client.get(url, headers=viewer).json["city"] == ""
    operator = api.auth("oscar")
    assert api.client.patch(url, headers=operator, json={"city": "Y"}).json["city"] == "Y"


def test_changes_are_audited(api: Api) -> None:
    customer = new_customer(api)
    api.client.patch(f"{BASE}/{customer['id']}", headers=api.auth("oscar"),
                     json={"city": "York"})
    entries = api.client.get("/api/v1/audit?object_type=customer",
                             headers=api.auth()).json["items"]
    assert {(e["action"], e["username"]) for e in entries} == {("create", "alice"),
                                                              ("update", "oscar")}
    update = next(e for e in entries if e["action"] == "update")
    assert update["after"]["city"] == "York" and update["object_id"] == customer["id"]


def test_openapi_documents_the_customer_operations(api: Api) -> None:
    paths = api.client.get("/api/v1/openapi.json").json["paths"]
    assert set(paths[BASE]) == {"get", "post"}
    assert set(paths[f"{BASE}/{{customer_id}}"]) == {"get", "patch", "delete"}
    assert paths[BASE]["post"]["security"] == [{"BearerAuth": []}]
    assert {"401", "403", "409", "422"} <= set(paths[BASE]["post"]["responses"])
