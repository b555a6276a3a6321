"""/api/v1/jobs: what background jobs do and did, for any role that may read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.jobs.models import Job
from tests.api.conftest import Api

START = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


@pytest.fixture
def jobs(api: Api) -> list[int]:
    with api.sessions.begin() as session:
        rows = [
            Job(kind="ratecards.import", state="done", progress=100, message="done",
                params={"file": "deck.csv"}, result={"rows": 1234}, created_by="alice",
                created_at=START, started_at=START + timedelta(seconds=1),
                finished_at=START + timedelta(seconds=9)),
            Job(kind="ratecards.import", state="failed", progress=40,
                message="invalid input: rate: below zero",
                errors=[{"field": "rate", "messages": ["below zero"]}], created_by="oscar",
                created_at=START + timedelta(minutes=1)),
            Job(kind="ratecards.build", state="running", progress=55, message="pricing",
                created_by="alice", created_at=START + timedelta(minutes=2),
                started_at=START + timedelta(minutes=2)),
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def test_a_token_is_required(api: Api, jobs: list[int]) -> None:
    for path in ("/api/v1/jobs", f"/api/v1/jobs/{jobs[0]}"):
        answer = api.client.get(path)
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_get_a_job(api: Api, jobs: list[int]) -> None:
    answer = api.client.get(f"/api/v1/jobs/{jobs[0]}", headers=api.auth("vera"))  # viewer
    assert answer.status_code == 200, answer.json
    job = answer.json
    assert job["state"] == "done" and job["progress"] == 100
    assert job["result"] == {"rows": 1234} and job["params"] == {"file": "deck.csv"}
    assert job["errors"] is None
    assert job["created_at"] == "2026-11-26T01:00:00+00:00"
    assert job["finished_at"] == "2026-11-26T01:00:09+00:00"
    failed = api.client.get(f"/api/v1/jobs/{jobs[1]}", headers=api.auth()).json
    assert failed["errors"] == [{"field": "rate", "messages": ["below zero"]}]
    assert failed["started_at"] is None and failed["result"] is None


def test_unknown_job_is_404(api: Api, jobs: list[int]) -> None:
    answer = api.client.get("/api/v1/jobs/99999", headers=api.auth())
    assert answer.status_code == 404
    assert answer.json["message"] == "job 99999 not found"


def test_list_newest_first_with_filters(api: Api, jobs: list[int]) -> None:
    def ids(query: str) -> list[int]:
        answer = api.client.get(f"/api/v1/jobs{query}", headers=api.auth("vera"))
        assert answer.status_code == 200, answer.json
        return [item["id"] for item in answer.json["items"]]

    assert ids("") == jobs[::-1]
    assert ids("?kind=ratecards.import") == [jobs[1], jobs[0]]
    assert ids("?kind=ratecards.import&state=failed") == [jobs[1]]
    assert ids("?state=queued") == []
    assert ids("?q=PRICING") == [jobs[2]]
    assert ids("?sort=progress") == [jobs[1], jobs[2], jobs[0]]
    page = api.client.get("/api/v1/jobs?per_page=2&page=2", headers=api.auth()).json
    assert (page["total"], page["page"], page["per_page"]) == (3, 2, 2)
    assert [item["id"] for item in page["items"]] == [jobs[0]]


def test_bad_filters_are_422(api: Api, jobs: list[int]) -> None:
    answer = api.client.get("/api/v1/jobs?state=sleeping&sort=colour", headers=api.auth())
    assert answer.status_code == 422
    assert set(answer.json["errors"]) == {"state"}
    unsorted = api.client.get("/api/v1/jobs?sort=colour", headers=api.auth())
    assert unsorted.status_code == 422 and "sort" in unsorted.json["errors"]
