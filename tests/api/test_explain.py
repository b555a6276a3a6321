"""GET /api/v1/routing/explain over the applied snapshot (the sample of
tests/unit/routing/test_explain_sample.py written into the app's switch files): an
answer per verdict, 422 naming each bad field, 409 before any apply, roles, OpenAPI."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from orchestrator.settings import Settings
from tests.api.conftest import Api
from tests.unit.routing.test_explain_sample import install

URL = "/api/v1/routing/explain"
UK = "447700900123"


def settings_of(api: Api) -> Settings:
    settings: Settings = api.app.extensions["webui"].settings
    return settings


def explain(api: Api, user: str = "alice", **params: Any) -> Any:
    return api.client.get(f"{URL}?{urlencode(params)}", headers=api.auth(user))


def test_nothing_applied_is_a_409(api: Api) -> None:
    answer = explain(api, source_ip="192.0.2.10", dialled=UK)
    assert answer.status_code == 409
    assert "nothing has been applied to the switch yet: apply first" in answer.json["message"]


def test_explains_a_routed_call_to_a_viewer(api: Api) -> None:
    snap = install(settings_of(api))
    answer = explain(api, "vera", source_ip="192.0.2.10", source_port=5060,
                     dialled="+991" + UK, caller="+15551234567")
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert body["verdict"] == "ok"
    assert (body["customer_id"], body["customer_name"]) == (1, "Alpha")
    assert (body["route_id"], body["number"]) == (12, UK)
    assert (body["tariff_prefix"], body["sell_rate"], body["currency"]) == ("44", "0.02",
                                                                              "EUR")
    assert [(c["provider_card_id"], c["cost"], c["dropped"]) for c in body["candidates"]] == [
        (1, "0.01", None), (2, "0.015", "not in the route's locked cards"),
        (3, "0.03", "costs more than the sell rate")]
    assert body["order"] == [1]
    assert body["media"] == {"zone": "direct", "mode": "relaxed"}
    assert body["snapshot_version"] == snap.version
    assert any("caller" in note for note in body["notes"])


def test_refusals_carry_the_sip_code_and_reason(api: Api) -> None:
    install(settings_of(api))
    cases = {("10.0.0.1", "", UK): "403 IP Not Authorised",
             ("198.51.100.200", "", UK): "403 Account Inactive",
             ("203.0.113.9", "", UK): "404 No Ingress Route",
             ("192.0.2.10", "", "3312345"): "503 No Routes Available",
             ("10.1.2.3", "alice", UK): "ok"}
    for (source, user, dialled), verdict in cases.items():
        params = {"source_ip": source, "dialled": dialled} | (
            {"username": user} if user else {})
        answer = explain(api, **params)
        assert answer.status_code == 200, answer.json
        assert answer.json["verdict"] == verdict, (source, answer.json)
    refused = explain(api, source_ip="10.0.0.1", dialled=UK).json
    assert refused["media"] is None and refused["route_id"] is None
    assert "source_port not given: 5060 assumed" in refused["notes"]


def test_bad_input_is_a_422_naming_each_field(api: Api) -> None:
    install(settings_of(api))
    answer = explain(api, source_ip="192.0.2.300", dialled="12ab", source_port=0)
    assert answer.status_code == 422
    assert set(answer.json["errors"]) >= {"source_port"}
    answer = explain(api, source_ip="192.0.2.300", dialled="12ab")
    assert answer.status_code == 422
    assert set(answer.json["errors"]) == {"source_ip", "dialled"}
    missing = explain(api)
    assert missing.status_code == 422
    assert set(missing.json["errors"]) == {"source_ip", "dialled"}
    too_long = explain(api, source_ip="192.0.2.10", dialled="1" * 33)
    assert too_long.status_code == 422 and list(too_long.json["errors"]) == ["dialled"]


def test_needs_a_token(api: Api) -> None:
    answer = api.client.get(f"{URL}?source_ip=192.0.2.10&dialled=44")
    assert answer.status_code == 401


def test_documented_in_openapi(api: Api) -> None:
    spec: Any = api.client.get("/api/v1/openapi.json").json
    operation = spec["paths"][URL]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert names == {"source_ip", "source_port", "username", "dialled", "caller"}
    assert {"200", "409", "422", "401", "403"} <= set(operation["responses"])
