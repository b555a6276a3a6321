"""/api/v1/switch: status, apply (a job), rollback (a job), history.

No Kamailio answers on the test settings' RPC port: the node is reported down, and a
successful apply is simulated at the node level (tests/unit/switch/test_service.py
``fake_apply``) while a real huey consumer runs the jobs.
"""

from __future__ import annotations

from typing import Any

from orchestrator.routing import routes
from tests.api import test_ratecard_jobs as ratecard_jobs
from tests.api.conftest import Api
from tests.unit.ratecards.cards_support import ADMIN
from tests.unit.switch import test_service
from tests.unit.switch.test_service import model

jobs_api = ratecard_jobs.jobs_api
switch_ok = test_service.switch_ok


def build(api: Api, zone: str = "auto") -> tuple[int, int]:
    with api.sessions() as session:
        return model(session, zone)


def status(api: Api, user: str = "vera") -> dict[str, Any]:
    answer = api.client.get("/api/v1/switch/status", headers=api.auth(user))
    assert answer.status_code == 200, answer.get_json()
    found: dict[str, Any] = answer.get_json()
    return found


def jobs_of(api: Api, kind: str) -> list[dict[str, Any]]:
    answer = api.client.get(f"/api/v1/jobs?kind={kind}", headers=api.auth())
    items: list[dict[str, Any]] = answer.get_json()["items"]
    return items


def test_status_reports_the_node_history_and_pending_changes(api: Api) -> None:
    build(api)
    found = status(api)
    [node] = found["nodes"]
    assert node["node"] == "local" and node["reachable"] is False
    assert "connection refused" in node["error"]
    assert node["version"] is None and node["trees"] == []
    assert found["history"] == []
    pending = found["pending"]
    assert pending["pending"] is True and pending["serving_version"] is None
    assert len(pending["compiled_version"]) == 64 and pending["error"] is None


def test_apply_enqueues_a_job_with_the_compiled_version(api: Api) -> None:
    build(api)
    compiled = status(api)["pending"]["compiled_version"]
    answer = api.client.post("/api/v1/switch/apply", headers=api.auth("oscar"))
    assert answer.status_code == 202, answer.get_json()
    job = answer.get_json()
    assert (job["kind"], job["state"], job["created_by"]) == ("switch.apply", "queued",
                                                              "oscar")
    assert job["params"]["version"] == compiled
    assert [j["id"] for j in jobs_of(api, "switch.apply")] == [job["id"]]


def test_a_model_the_switch_cannot_run_is_422_naming_the_problem(api: Api) -> None:
    _, route_id = build(api, zone="asia")
    answer = api.client.post("/api/v1/switch/apply", headers=api.auth("oscar"))
    assert answer.status_code == 422
    body = answer.get_json()
    place = f"route {route_id} (Main) of customer Acme"
    assert list(body["errors"]) == [place]
    assert "media zone 'asia' is not configured" in body["errors"][place][0]
    assert jobs_of(api, "switch.apply") == []
    assert status(api)["pending"]["error"] == body["errors"]


def test_a_viewer_may_read_but_not_apply_or_roll_back(api: Api) -> None:
    build(api)
    assert api.client.post("/api/v1/switch/apply",
                           headers=api.auth("vera")).status_code == 403
    assert api.client.post("/api/v1/switch/rollback", json={},
                           headers=api.auth("vera")).status_code == 403
    assert api.client.get("/api/v1/switch/history",
                          headers=api.auth("vera")).status_code == 200
    assert jobs_of(api, "switch.apply") == []


def test_rollback_with_nothing_to_roll_back_to(api: Api) -> None:
    nothing = api.client.post("/api/v1/switch/rollback", json={}, headers=api.auth())
    assert nothing.status_code == 409
    assert "no earlier snapshot" in nothing.get_json()["message"]
    unknown = api.client.post("/api/v1/switch/rollback", json={"version": "abcdef12"},
                              headers=api.auth())
    assert unknown.status_code == 404
    bad = api.client.post("/api/v1/switch/rollback", json={"version": "not-a-version"},
                          headers=api.auth())
    assert bad.status_code == 422 and "version" in bad.get_json()["errors"]


def test_apply_twice_history_and_rollback_by_prefix(jobs_api: Api,
                                                    switch_ok: None) -> None:
    api = jobs_api
    owner, route_id = build(api)
    first = api.wait_job(api.client.post("/api/v1/switch/apply",
                                      headers=api.auth()).get_json()["id"])
    assert first["state"] == "done", first["message"]
    assert status(api)["pending"]["pending"] is False
    with api.sessions.begin() as session:
        routes.update_route(session, ADMIN, owner, route_id, {"max_duration": 60})
    assert status(api)["pending"]["pending"] is True
    second = api.wait_job(api.client.post("/api/v1/switch/apply",
                                       headers=api.auth()).get_json()["id"])
    assert second["state"] == "done", second["message"]
    a, b = first["result"]["version"], second["result"]["version"]

    history = api.client.get("/api/v1/switch/history", headers=api.auth("vera")).get_json()
    assert [(h["version"], h["action"], h["serving"], h["kept"])
            for h in history["items"]] == [(b, "apply", True, False),
                                           (a, "apply", False, True)]
    answer = api.client.post("/api/v1/switch/rollback", json={"version": a[:8]},
                             headers=api.auth("oscar"))
    assert answer.status_code == 202, answer.get_json()
    assert answer.get_json()["params"]["version"] == a
    back = api.wait_job(answer.get_json()["id"])
    assert back["state"] == "done" and back["result"]["version"] == a
    after = status(api)
    assert after["nodes"][0]["version"] == a
    assert after["pending"]["pending"] is True  # the model is still b
    assert after["history"][0]["action"] == "rollback"


def test_switch_nodes_add_list_delete(api: Api) -> None:
    client, admin_headers = api.client, api.auth()
    body = {"name": "edge-2", "rpc_url": "http://10.0.0.5:5071/RPC",
            "table_file": "/srv/switch/edge-2/kamailio.db"}
    created = client.post("/api/v1/switch/nodes", json=body, headers=admin_headers)
    assert created.status_code == 201, created.json
    assert created.json["enabled"] is True
    again = client.post("/api/v1/switch/nodes", json=body, headers=admin_headers)
    assert again.status_code == 409
    bad = client.post("/api/v1/switch/nodes", json=body | {"name": "x", "rpc_url": "nope"},
                      headers=admin_headers)
    assert bad.status_code == 422 and "rpc_url" in str(bad.json)
    listed = client.get("/api/v1/switch/nodes", headers=admin_headers).json["items"]
    assert [n["name"] for n in listed] == ["edge-2"]
    node_id = created.json["id"]
    assert client.delete(f"/api/v1/switch/nodes/{node_id}",
                         headers=admin_headers).status_code == 204
    assert client.get("/api/v1/switch/nodes", headers=admin_headers).json["items"] == []
