"""Upload, export and build endpoints: each answers a job that a real huey consumer runs."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from orchestrator.jobs import queue as jobqueue
from tests.api.conftest import Api
from tests.support.jobs import running_consumer

DECK = b"Code,Destination,Rate\n44,UK,0.0100\n4420,London,0.0080\n"


@pytest.fixture
def jobs_api(api: Api) -> Iterator[Api]:
    queue = jobqueue.configure(api.app.extensions["webui"].settings)
    jobqueue.load_task_modules()
    with running_consumer(queue):
        yield api
    jobqueue.reset()


def _card(api: Api, name: str = "Acme") -> int:
    carrier = api.client.post("/api/v1/carriers", json={"name": f"{name} carrier",
                                                        "currency": "USD"},
                              headers=api.auth())
    assert carrier.status_code == 201, carrier.get_json()
    card = api.client.post("/api/v1/provider-cards", json={
        "name": name, "carrier_id": carrier.get_json()["id"], "currency": "USD"},
        headers=api.auth())
    assert card.status_code == 201, card.get_json()
    card_id: int = card.get_json()["id"]
    return card_id


def _upload(api: Api, card_id: int, deck: bytes, user: str = "oscar",
            **form: Any) -> Any:
    data = {"file": (io.BytesIO(deck), "deck.csv"),
            "mapping": json.dumps({"prefix": "Code", "name": "Destination", "rate": "Rate"}),
            **form}
    return api.client.post(f"/api/v1/provider-cards/{card_id}/upload", data=data,
                           content_type="multipart/form-data", headers=api.auth(user))


def test_upload_answers_a_job_that_imports_the_deck(jobs_api: Api) -> None:
    card_id = _card(jobs_api)
    response = _upload(jobs_api, card_id, DECK, activate="true")
    assert response.status_code == 202, response.get_json()
    job = jobs_api.wait_job(response.get_json()["id"])
    assert job["state"] == "done", job
    assert job["result"]["rows"] == 2 and job["result"]["state"] == "active"
    exported = jobs_api.client.get(f"/api/v1/provider-cards/{card_id}/export?format=csv",
                                   headers=jobs_api.auth("vera"))
    assert exported.status_code == 200
    assert "attachment" in exported.headers["Content-Disposition"]
    lines = exported.get_data(as_text=True).splitlines()
    assert lines[0].startswith("prefix,name,rate")
    assert [line.split(",")[0] for line in lines[1:]] == ["44", "4420"]


def test_bad_rows_fail_the_job_with_row_and_column(jobs_api: Api) -> None:
    card_id = _card(jobs_api)
    response = _upload(jobs_api, card_id, DECK + b"44,Dup,0.02\n9x,Bad,-1\n")
    assert response.status_code == 202
    job = jobs_api.wait_job(response.get_json()["id"])
    assert job["state"] == "failed"
    places = [e["field"] for e in job["errors"]]
    assert any(p.startswith("row 5, Code") for p in places), places
    assert any(p.startswith("row 5, Rate") for p in places), places
    assert any("row 4" in p for p in places), places  # the duplicate 44
    revisions = jobs_api.client.get(f"/api/v1/provider-cards/{card_id}/revisions",
                                    headers=jobs_api.auth()).get_json()
    assert revisions["total"] == 0


def test_upload_refuses_bad_requests_before_queuing(jobs_api: Api) -> None:
    card_id = _card(jobs_api)
    bad_json = _upload(jobs_api, card_id, DECK, mapping="{not json")
    assert bad_json.status_code == 422 and "mapping" in bad_json.get_json()["errors"]
    no_rate = _upload(jobs_api, card_id, DECK, mapping=json.dumps({"prefix": 0}))
    assert no_rate.status_code == 422 and "mapping.rate" in no_rate.get_json()["errors"]
    assert _upload(jobs_api, card_id, DECK, user="vera").status_code == 403
    assert _upload(jobs_api, 999_999, DECK).status_code == 404
    listed = jobs_api.client.get("/api/v1/jobs", headers=jobs_api.auth()).get_json()
    assert listed["total"] == 0


def test_build_answers_a_job_and_the_routing_lookup_sees_it(jobs_api: Api) -> None:
    card_id = _card(jobs_api)
    assert jobs_api.wait_job(_upload(jobs_api, card_id, DECK, activate="true")
                 .get_json()["id"])["state"] == "done"
    created = jobs_api.client.post("/api/v1/customer-cards", json={
        "name": "Retail", "currency": "USD", "parents": [{"provider_card_id": card_id}]},
        headers=jobs_api.auth())
    assert created.status_code == 201, created.get_json()
    customer_id = created.get_json()["id"]
    rule = jobs_api.client.post(f"/api/v1/customer-cards/{customer_id}/profit-rules",
                                json={"match": "", "type": "relative", "value": "0.005"},
                                headers=jobs_api.auth())
    assert rule.status_code == 201, rule.get_json()
    started = jobs_api.client.post(f"/api/v1/customer-cards/{customer_id}/build",
                                   json={"activate": True}, headers=jobs_api.auth())
    assert started.status_code == 202, started.get_json()
    job = jobs_api.wait_job(started.get_json()["id"])
    assert job["state"] == "done", job
    routing = jobs_api.client.get(f"/api/v1/customer-cards/{customer_id}/routing?prefix="
                                  "442071234567", headers=jobs_api.auth("vera"))
    assert routing.status_code == 200, routing.get_json()
    body = routing.get_json()
    assert body["prefix"] == "4420"
    assert [c["provider_card_id"] for c in body["candidates"]] == [card_id]
    rates = jobs_api.client.get(f"/api/v1/customer-cards/{customer_id}/rates?prefix=4420",
                                headers=jobs_api.auth("vera")).get_json()
    assert rates["items"][0]["rate"].startswith("0.013")  # 0.0080 + 0.005
    bulk = jobs_api.client.post("/api/v1/customer-cards/build", json={},
                                headers=jobs_api.auth())
    assert bulk.status_code == 422  # nothing is stale now


def test_export_needs_a_revision(jobs_api: Api) -> None:
    card_id = _card(jobs_api)
    response = jobs_api.client.get(f"/api/v1/provider-cards/{card_id}/export?format=xlsx",
                                   headers=jobs_api.auth())
    assert response.status_code == 422 and "revision" in response.get_json()["errors"]
    bad = jobs_api.client.get(f"/api/v1/provider-cards/{card_id}/export?format=pdf",
                              headers=jobs_api.auth())
    assert bad.status_code == 422
