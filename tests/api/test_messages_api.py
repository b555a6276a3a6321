"""/api/v1/messages: the log of emails and SMS (search, filters, pages), one message,
and retrying a failed one, end to end with a real job consumer and SMTP server."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.actor import Actor
from orchestrator.customers import service as customers
from orchestrator.db import make_engine, session_factory
from orchestrator.jobs import queue as jobqueue
from orchestrator.notify import outbox
from orchestrator.notify.models import Message
from tests.api.conftest import Api
from tests.support.dataplane import test_settings as make_settings
from tests.support.jobs import running_consumer
from tests.support.mail import smtp_server
from tests.support.ports import free_port
from webui import create_app

BASE = "/api/v1/messages"
ADMIN = Actor(None, "test-admin", "admin")


def add(api: Api, **fields: Any) -> int:
    """A message row as the outbox leaves it (no job: these tests only read)."""
    values: dict[str, Any] = {"channel": "email", "recipient": "ops@acme.example",
                              "subject": "Hello", "body": "text", "purpose": "other",
                              "status": "sent"} | fields
    with api.sessions.begin() as session:
        message = Message(**values)
        session.add(message)
        session.flush()
        return message.id


def listed(api: Api, user: str = "vera", **args: Any) -> dict[str, Any]:
    answer = api.client.get(BASE, headers=api.auth(user), query_string=args)
    assert answer.status_code == 200, answer.json
    return dict(answer.json)


def test_list_search_filters_and_pages(api: Api) -> None:
    with api.sessions.begin() as session:
        cid = customers.create_customer(session, ADMIN, {"name": "Acme",
                                                         "currency": "EUR"}).id
    first = add(api, subject="Your code", purpose="verification", customer_id=cid)
    sms = add(api, channel="sms", recipient="+447400123456", subject="",
              body="Code 987654", status="failed", last_error="gateway answered HTTP 500")
    low = add(api, subject="Low balance: 3 EUR", purpose="low_balance", status="retrying")
    found = listed(api)
    assert [m["id"] for m in found["items"]] == [low, sms, first]  # newest first
    assert found["total"] == 3 and found["page"] == 1 and found["per_page"] == 50
    assert [m["id"] for m in listed(api, channel="sms")["items"]] == [sms]
    assert [m["id"] for m in listed(api, status="failed")["items"]] == [sms]
    assert [m["id"] for m in listed(api, purpose="verification")["items"]] == [first]
    assert [m["id"] for m in listed(api, customer_id=cid)["items"]] == [first]
    assert [m["id"] for m in listed(api, q="LOW BAL")["items"]] == [low]
    assert [m["id"] for m in listed(api, q="+4474")["items"]] == [sms]
    assert [m["id"] for m in listed(api, q="987654")["items"]] == [sms]
    paged = listed(api, per_page=2, page=2)
    assert [m["id"] for m in paged["items"]] == [first] and paged["total"] == 3
    assert [m["id"] for m in listed(api, sort="id")["items"]] == [first, sms, low]


def test_bad_filters_are_named(api: Api) -> None:
    for args, field in (({"status": "lost"}, "status"), ({"channel": "fax"}, "channel"),
                        ({"purpose": "spam"}, "purpose"), ({"sort": "colour"}, "sort"),
                        ({"per_page": 0}, "per_page")):
        answer = api.client.get(BASE, headers=api.auth(), query_string=args)
        assert answer.status_code == 422 and field in answer.json["errors"], answer.json


def test_one_message_and_not_found(api: Api) -> None:
    mid = add(api, status="failed", attempts=5, last_error="connection refused by x:25")
    answer = api.client.get(f"{BASE}/{mid}", headers=api.auth("vera"))
    assert answer.status_code == 200
    assert answer.json["last_error"] == "connection refused by x:25"
    assert answer.json["body"] == "text" and answer.json["attempts"] == 5
    assert api.client.get(f"{BASE}/{mid + 99}", headers=api.auth()).status_code == 404
    assert api.client.get(BASE).status_code == 401


def test_retry_only_failed_and_not_by_viewers(api: Api) -> None:
    sent = add(api)
    answer = api.client.post(f"{BASE}/{sent}/retry", headers=api.auth())
    assert answer.status_code == 409 and "only a failed message" in answer.json["message"]
    failed = add(api, status="failed")
    assert api.client.post(f"{BASE}/{failed}/retry",
                           headers=api.auth("vera")).status_code == 403
    with api.sessions() as session:
        row = session.get(Message, failed)
        assert row is not None and row.status == "failed" and row.job_id is None


@pytest.fixture
def live_api(template_db: Path, tmp_path: Path) -> Iterator[Api]:
    """The API with a real job consumer and fast retries (0.2 s, 3 attempts)."""
    settings = make_settings(tmp_path, notify_retry_seconds=0.2, notify_attempts=3)
    settings.ensure_dirs()
    shutil.copy(template_db, tmp_path / "orchestrator.db")
    jobqueue.load_task_modules()
    app = create_app(settings)  # makes the queue of these settings the process's
    queue = jobqueue.configured()
    assert queue is not None and queue.settings.var_dir == settings.var_dir
    engine = make_engine(settings.db_url)
    try:
        with running_consumer(queue):
            yield Api(app, app.test_client(), session_factory(engine))
    finally:
        engine.dispose()
        app.extensions["webui"].engine.dispose()


def wait_final(api: Api, mid: int, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = dict(api.client.get(f"{BASE}/{mid}", headers=api.auth()).json)
        if found["status"] in ("sent", "failed"):
            job = api.client.get(f"/api/v1/jobs/{found['job_id']}", headers=api.auth()).json
            if job["state"] in ("done", "failed"):
                return found | {"job": job}
        assert time.monotonic() < deadline, found
        time.sleep(0.05)


def test_server_down_fails_then_retry_sends_once_it_is_up(live_api: Api) -> None:
    api = live_api
    down = free_port()
    assert api.client.put("/api/v1/settings/smtp", headers=api.auth(), json={
        "host": "127.0.0.1", "port": down, "from_address": "noc@switch.test"}).status_code == 200
    with api.sessions.begin() as session:
        mid = outbox.queue_email(session, ADMIN, "ops@acme.example", "Invoice",
                                 "Please pay.").id
    failed = wait_final(api, mid)
    assert failed["status"] == "failed" and failed["attempts"] == 3
    assert failed["last_error"].startswith(f"connection refused by 127.0.0.1:{down}")
    assert failed["job"]["state"] == "failed"
    assert "not delivered after 3 attempts" in failed["job"]["message"]
    with smtp_server() as inbox:
        api.client.put("/api/v1/settings/smtp", headers=api.auth(),
                       json={"port": inbox.port})
        answer = api.client.post(f"{BASE}/{mid}/retry", headers=api.auth("oscar"))
        assert answer.status_code == 202, answer.json
        assert answer.json["status"] == "queued" and answer.json["attempts"] == 0
        assert answer.json["job_id"] != failed["job_id"]
        sent = wait_final(api, mid)
        [message] = inbox.messages
    assert sent["status"] == "sent" and sent["attempts"] == 1 and sent["last_error"] == ""
    assert message["Subject"] == "Invoice" and message["To"] == "ops@acme.example"
    assert sent["job"]["state"] == "done"
