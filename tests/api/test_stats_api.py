"""/api/v1/stats: figures by customer, carrier, hour; bad input named (422)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orchestrator.actor import SYSTEM
from orchestrator.carriers.service import create_carrier
from orchestrator.customers.service import create_customer
from tests.api.conftest import Api
from tests.support.cdrs import add_cdrs

T0 = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
PERIOD = {"from": "2026-04-01T08:00:00Z", "to": "2026-04-01T11:00:00Z"}


def seed(api: Api) -> dict[str, int]:
    with api.sessions.begin() as session:
        acme = create_customer(session, SYSTEM, {"name": "Acme", "currency": "USD"})
        tel = create_carrier(session, SYSTEM, {"name": "TelCo", "currency": "USD"})
        usd = {"customer_id": acme.id, "carrier_id": tel.id, "sell_currency": "USD",
               "buy_currency": "USD", "rated_at": T0}
        add_cdrs(session,
                 # 08:10 answered 90 s: sell 0.30, buy 0.10
                 {"start_at": T0 + timedelta(minutes=10), "duration_ms": 90_000,
                  "pdd_ms": 2000, "sell_charge": 30_000_000, "buy_charge": 10_000_000,
                  **usd},
                 # 08:20 failed
                 {"start_at": T0 + timedelta(minutes=20), "code": 503, "pdd_ms": None,
                  **usd},
                 # 10:05 answered 30 s: sell 0.10, buy 0.05
                 {"start_at": T0 + timedelta(hours=2, minutes=5), "duration_ms": 30_000,
                  "pdd_ms": 1000, "sell_charge": 10_000_000, "buy_charge": 5_000_000,
                  **usd})
        return {"acme": acme.id, "tel": tel.id}


def test_by_customer_and_hour(api: Api) -> None:
    ids = seed(api)
    answer = api.client.get("/api/v1/stats", headers=api.auth("vera"),
                            query_string={**PERIOD, "group_by": "customer"})
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert body["currency"] == "USD" and body["group_by"] == "customer"
    [row] = body["rows"]
    assert (row["key"], row["label"], row["attempts"], row["answered"]) == (
        str(ids["acme"]), "Acme", 3, 2)
    assert row["asr"] == 66.67 and row["acd"] == 60.0 and row["pdd"] == 1.5
    assert row["minutes"] == 2.0
    assert (row["revenue"], row["cost"], row["profit"]) == (
        "0.40000000", "0.15000000", "0.25000000")
    hours = api.client.get("/api/v1/stats", headers=api.auth(), query_string={
        **PERIOD, "group_by": "hour", "carrier_id": ids["tel"]}).json
    assert [(r["label"], r["attempts"], r["profit"]) for r in hours["rows"]] == [
        ("2026-04-01 08:00", 2, "0.20000000"), ("2026-04-01 09:00", 0, "0.00000000"),
        ("2026-04-01 10:00", 1, "0.05000000")]
    assert hours["total"]["attempts"] == 3


def test_bad_input(api: Api) -> None:
    for query, field, text in [
        ({"group_by": "planet"}, "group_by", "one of customer, carrier, destination"),
        ({"from": "2026-04-02", "to": "2026-04-01"}, "from", "must be before to"),
        ({"group_by": "hour", "from": "2020-01-01", "to": "2026-01-01"}, "group_by",
         "group by day"),
        ({"customer_id": "abc"}, "customer_id", ""),
    ]:
        answer = api.client.get("/api/v1/stats", headers=api.auth(), query_string=query)
        assert answer.status_code == 422, (query, answer.json)
        assert text in " ".join(answer.json["errors"][field]), answer.json
