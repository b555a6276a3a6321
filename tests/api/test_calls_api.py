"""/api/v1/calls without a running switch: bad input, roles, and a clear error when
Kamailio does not answer (the listing and hanging up of real calls is tested against
the data plane in tests/integration/billing/test_live_calls.py)."""

from __future__ import annotations

from sqlalchemy import func, select

from orchestrator.audit.models import AuditEntry
from tests.api.conftest import Api


def _audit_count(api: Api) -> int:
    with api.sessions() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def test_the_list_names_the_node_that_does_not_answer(api: Api) -> None:
    answer = api.client.get("/api/v1/calls", headers=api.auth("vera"))
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["items"] == [] and body["total"] == 0
    (error,) = body["errors"]
    assert error["node"] == "local"
    assert "could not be asked about its calls" in error["error"]
    assert "connection refused" in error["error"]


def test_bad_filters_are_refused_by_field(api: Api) -> None:
    for query, field in (("customer_id=0", "customer_id"), ("carrier_id=abc", "carrier_id"),
                         ("customer_id=-3", "customer_id")):
        answer = api.client.get(f"/api/v1/calls?{query}", headers=api.auth())
        assert answer.status_code == 422, query
        assert field in answer.get_json()["errors"], query


def test_bad_ids_are_refused_before_asking_the_switch(api: Api) -> None:
    api.auth()  # its token first: creating one is audited
    before = _audit_count(api)
    for ident in ("%20%20", "a%01b", "x" * 256, "two%20words"):
        answer = api.client.delete(f"/api/v1/calls/{ident}", headers=api.auth())
        assert answer.status_code == 422, ident
        body = answer.get_json()
        assert list(body["errors"]) == ["id"], ident
    assert _audit_count(api) == before


def test_hanging_up_with_the_switch_down_is_503_and_changes_nothing(api: Api) -> None:
    api.auth("oscar")
    before = _audit_count(api)
    for ident in ("1404.5330", "2-25845@127.0.1.1"):
        answer = api.client.delete(f"/api/v1/calls/{ident}", headers=api.auth("oscar"))
        assert answer.status_code == 503, ident
        message = answer.get_json()["message"]
        assert "could not be asked about its calls" in message
        assert "orchestrator stack up" in message
    assert _audit_count(api) == before


def test_roles_a_viewer_lists_but_may_not_hang_up(api: Api) -> None:
    assert api.client.get("/api/v1/calls", headers=api.auth("vera")).status_code == 200
    refused = api.client.delete("/api/v1/calls/1.2", headers=api.auth("vera"))
    assert refused.status_code == 403
    assert api.client.get("/api/v1/calls").status_code == 401
    assert api.client.delete("/api/v1/calls/1.2").status_code == 401


def test_the_operations_are_in_the_openapi_document(api: Api) -> None:
    spec = api.client.get("/api/v1/openapi.json").get_json()
    assert "get" in spec["paths"]["/api/v1/calls"]
    assert "delete" in spec["paths"]["/api/v1/calls/{call}"]
    responses = spec["paths"]["/api/v1/calls/{call}"]["delete"]["responses"]
    assert {"200", "404", "422", "503"} <= set(responses)
