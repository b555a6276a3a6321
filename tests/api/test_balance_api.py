"""GET /api/v1/customers/{id}/balance (balance, credit, statement) and the customer's
low_balance_threshold field through the API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from orchestrator.billing.balances import apply_charge_deltas
from orchestrator.customers.models import CustomerPayment
from tests.api.conftest import Api
from tests.support.cdrs import add_cdrs

U = 10**8


def customer_id(api: Api, **fields: Any) -> int:
    answer = api.client.post("/api/v1/customers", headers=api.auth(),
                             json={"name": "Acme", "currency": "EUR"} | fields)
    assert answer.status_code == 201, answer.json
    return int(answer.json["id"])


def test_balance_and_statement(api: Api) -> None:
    cid = customer_id(api, tax_percent="20", debit_limit="10")
    for amount, status in (("30", "completed"), ("4", "pending")):
        added = api.client.post(f"/api/v1/customers/{cid}/payments", headers=api.auth(),
                                json={"amount": amount, "status": status})
        assert added.status_code == 201, added.json
    with api.sessions.begin() as session:
        for p in session.query(CustomerPayment).filter_by(customer_id=cid):
            p.created_at = datetime(2026, 2, 3, 9, tzinfo=UTC)
        rated = datetime(2026, 2, 3, 10, tzinfo=UTC)
        add_cdrs(session, *({"customer_id": cid, "customer_charge": c, "duration_ms": 9000,
                             "rated_at": rated, "start_at": rated} for c in (U, 3 * U)))
        apply_charge_deltas(session, {cid: 4 * U})
    answer = api.client.get(f"/api/v1/customers/{cid}/balance?from=2026-02-01&to=2026-02-28",
                            headers=api.auth("vera"))
    assert answer.status_code == 200, answer.json
    body = answer.json
    # 30 - 4 x 1.2 = 25.2; credit 35.2
    assert (body["balance"], body["credit_available"], body["currency"]) == (
        "25.20", "35.20", "EUR")
    st = body["statement"]
    assert (st["from"], st["to"], st["opening_balance"], st["closing_balance"]) == (
        "2026-02-01", "2026-02-28", "0.00", "25.20")
    assert st["days"] == [{"day": "2026-02-03", "attempts": 2, "calls": 2, "charges": "4.00",
                           "tax": "0.80", "payments": "30.00", "balance": "25.20"}]
    assert [p["amount"] for p in st["pending_payments"]] == ["4.00"]
    # the customer resource agrees
    assert api.client.get(f"/api/v1/customers/{cid}",
                          headers=api.auth()).json["balance"] == "25.20"


def test_bad_period_and_unknown_customer(api: Api) -> None:
    cid = customer_id(api)
    bad = api.client.get(f"/api/v1/customers/{cid}/balance?from=2026-02-10&to=2026-02-01",
                         headers=api.auth())
    assert bad.status_code == 422 and "from" in bad.json["errors"]
    junk = api.client.get(f"/api/v1/customers/{cid}/balance?to=02/01/2026",
                          headers=api.auth())
    assert junk.status_code == 422 and "to" in junk.json["errors"]
    assert api.client.get("/api/v1/customers/9999/balance",
                          headers=api.auth()).status_code == 404
    assert api.client.get(f"/api/v1/customers/{cid}/balance").status_code == 401


def test_low_balance_threshold_set_cleared_and_checked(api: Api) -> None:
    cid = customer_id(api, low_balance_threshold="12.5")
    url = f"/api/v1/customers/{cid}"
    assert api.client.get(url, headers=api.auth()).json["low_balance_threshold"] == "12.5"
    bad = api.client.patch(url, headers=api.auth(), json={"low_balance_threshold": "lots"})
    assert bad.status_code == 422 and "low_balance_threshold" in bad.json["errors"]
    assert api.client.get(url, headers=api.auth()).json["low_balance_threshold"] == "12.5"
    kept = api.client.patch(url, headers=api.auth(), json={"low_balance_threshold": None})
    assert kept.json["low_balance_threshold"] == "12.5"      # null keeps, like every field
    cleared = api.client.patch(url, headers=api.auth(), json={"low_balance_threshold": ""})
    assert cleared.status_code == 200 and cleared.json["low_balance_threshold"] is None


def test_openapi_documents_the_balance_operation(api: Api) -> None:
    spec = api.client.get("/api/v1/openapi.json").json
    operation = spec["paths"]["/api/v1/customers/{customer_id}/balance"]["get"]
    assert {p["name"] for p in operation["parameters"] if p["in"] == "query"} == {"from",
                                                                                 "to"}
