"""/api/v1/cdrs: search with filters and keyset pages, one CDR, the streamed CSV export,
and bad input (from after to, bad cursor, bad result) answered 422 naming the field."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrator.actor import SYSTEM
from orchestrator.customers.service import create_customer
from tests.api.conftest import Api
from tests.support.cdrs import add_cdrs

T0 = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
PERIOD = {"from": "2026-04-01T00:00:00Z", "to": "2026-04-02"}


def seed(api: Api, count: int = 5) -> int:
    """``count`` CDRs a minute apart for customer Acme (even ones answered)."""
    with api.sessions.begin() as session:
        acme = create_customer(session, SYSTEM, {"name": "Acme", "currency": "USD"})
        add_cdrs(session, *({"start_at": T0 + timedelta(minutes=n), "customer_id": acme.id,
                             "call_id": f"api-{n}", "dialled": f"44{n}",
                             "duration_ms": 10_000 if n % 2 == 0 else 0,
                             "sell_charge": 1_000_000 * n}
                            for n in range(count)))
        return acme.id


def get(api: Api, path: str, user: str = "alice", **query: Any) -> Any:
    return api.client.get(f"/api/v1{path}", query_string=query, headers=api.auth(user))


def test_search_filters_and_pages(api: Api) -> None:
    acme = seed(api, 5)
    first = get(api, "/cdrs", "vera", limit=2, **PERIOD)
    assert first.status_code == 200, first.json
    body = first.json
    assert [i["call_id"] for i in body["items"]] == ["api-4", "api-3"]
    assert body["items"][0]["customer_name"] == "Acme"
    assert body["items"][0]["sell_charge"] == "0.04000000"
    assert body["items"][0]["start_at"] == "2026-04-01T08:04:00+00:00"
    assert body["prev_cursor"] is None and body["next_cursor"]
    seen = [i["call_id"] for i in body["items"]]
    cursor = body["next_cursor"]
    while cursor:
        page = get(api, "/cdrs", limit=2, cursor=cursor, **PERIOD).json
        seen += [i["call_id"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert seen == ["api-4", "api-3", "api-2", "api-1", "api-0"]
    answered = get(api, "/cdrs", result="answered", customer_id=acme, **PERIOD).json
    assert [i["call_id"] for i in answered["items"]] == ["api-4", "api-2", "api-0"]
    prefix = get(api, "/cdrs", dialled="443", **PERIOD).json
    assert [i["call_id"] for i in prefix["items"]] == ["api-3"]
    # the default period is the last 24 hours: these CDRs are older
    assert get(api, "/cdrs").json["items"] == []


def test_get_one_and_not_found(api: Api) -> None:
    seed(api, 1)
    [item] = get(api, "/cdrs", **PERIOD).json["items"]
    one = get(api, f"/cdrs/{item['id']}")
    assert one.status_code == 200
    assert one.json["call_id"] == "api-0" and one.json["duration_ms"] == 10_000
    assert one.json["dtmf_events"] == 0 and one.json["carrier_name"] is None
    missing = get(api, "/cdrs/987654")
    assert missing.status_code == 404 and "CDR 987654 not found" in missing.json["message"]


def test_bad_input_is_refused_with_the_field(api: Api) -> None:
    seed(api, 1)
    cases = [
        ({"from": "2026-04-02", "to": "2026-04-01"}, "from", "must be before to"),
        ({"cursor": "not-a-cursor"}, "cursor", "is not a cursor"),
        ({"result": "maybe"}, "result", "answered, failed or a SIP code"),
        ({"from": "last week"}, "from", "ISO 8601"),
        ({"limit": "5000"}, "limit", ""),
    ]
    for query, field, text in cases:
        answer = get(api, "/cdrs", **query)
        assert answer.status_code == 422, (query, answer.json)
        assert answer.json["message"] == "Validation failed"
        assert text in " ".join(answer.json["errors"][field]), answer.json
    export = get(api, "/cdrs/export", **{"from": "2026-04-02", "to": "2026-04-01"})
    assert export.status_code == 422 and "from" in export.json["errors"]
    assert api.client.get("/api/v1/cdrs").status_code == 401


def test_export_streams_csv(api: Api) -> None:
    seed(api, 3)
    answer = get(api, "/cdrs/export", "vera", **PERIOD)
    assert answer.status_code == 200
    assert answer.mimetype == "text/csv" and answer.is_streamed
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert [r["call_id"] for r in rows] == ["api-0", "api-1", "api-2"]   # oldest first
    assert [r["sell_charge"] for r in rows] == ["0.00000000", "0.01000000", "0.02000000"]
    assert rows[0]["customer_name"] == "Acme" and rows[0]["start_at"] == "2026-04-01T08:00:00Z"
    only = get(api, "/cdrs/export", result="failed", **PERIOD).get_data(as_text=True)
    assert [r["call_id"] for r in csv.DictReader(io.StringIO(only))] == ["api-1"]
