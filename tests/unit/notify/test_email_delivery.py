"""Email through the notify.deliver job and a real huey consumer to a real SMTP server
(aiosmtpd): exact headers, body and attachment; a server that is down is retried with
growing waits, then the message and its job fail with the error."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy.orm import Session

from orchestrator import secrets
from orchestrator.notify import attachments
from tests.support.mail import attachments as attached
from tests.support.mail import body_text, smtp_server
from tests.support.ports import free_port
from tests.unit.notify.world import ATTEMPTS, RETRY_SECONDS, World

CSV = b"prefix,rate\n44,0.0100\n4420,0.0085\n"


def rows_csv(session: Session, spec: dict[str, Any]) -> attachments.Attachment:
    """A resolver as a rate card export registers one: made when the email goes out."""
    return str(spec["filename"]), "text/csv", CSV[: int(spec["size"])]


attachments.register("test.rows", rows_csv)


def test_email_delivered_with_exact_headers_body_and_attachment(world: World) -> None:
    with smtp_server() as inbox:
        world.set_smtp(host="127.0.0.1", port=inbox.port,
                       from_address="Switch NOC <noc@switch.test>")
        mid = world.email("ops@acme.example", "Your rates from 1 Dec",
                          "Hello,\n\nyour new rates are attached.\n",
                          attachment={"kind": "test.rows", "filename": "acme.csv",
                                      "size": len(CSV)}, purpose="rate_card")
        [message] = inbox.wait(1)
        found = world.wait(mid)
    assert message["From"] == "Switch NOC <noc@switch.test>"
    assert message["To"] == "ops@acme.example"
    assert message["Subject"] == "Your rates from 1 Dec"
    assert body_text(message).replace("\r\n", "\n") == ("Hello,\n\nyour new rates are "
                                                         "attached.\n")
    assert attached(message) == [("acme.csv", CSV)]
    assert inbox.envelopes == [("noc@switch.test", ["ops@acme.example"])]
    assert (found["status"], found["attempts"], found["last_error"]) == ("sent", 1, "")
    assert found["sent_at"] is not None and found["attachment"] == "acme.csv"
    job = world.job(found["job_id"])
    assert job.state == "done" and job.result == {"message_id": mid, "status": "sent",
                                                  "to": "ops@acme.example", "attempts": 1}


def test_unknown_attachment_kind_fails_at_once_with_a_clear_message(world: World) -> None:
    with smtp_server() as inbox:
        world.set_smtp(host="127.0.0.1", port=inbox.port)
        mid = world.email("ops@acme.example", "x", "y",
                          attachment={"kind": "nope", "filename": "a.csv"})
        found = world.wait(mid)
        assert inbox.messages == []
    assert found["status"] == "failed" and found["attempts"] == 1
    assert found["last_error"].startswith("a.csv could not be made: no attachment resolver "
                                          "for 'nope'; known: ")
    assert "test.rows" in found["last_error"]
    job = world.job(found["job_id"])
    assert job.state == "failed" and job.message.endswith(found["last_error"])


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_server_down_retries_with_growing_waits_then_fails(world: World) -> None:
    port = free_port()  # nothing listens
    world.set_smtp(host="127.0.0.1", port=port)
    mid = world.email("ops@acme.example", "Low balance", "Top up please.")
    seen_next: dict[int, str] = {}  # attempts -> next_attempt_at after that attempt
    job_messages: list[str] = []
    deadline = time.monotonic() + 40
    while True:
        found = world.message(mid)
        job = world.job(found["job_id"])
        if found["next_attempt_at"]:
            seen_next.setdefault(found["attempts"], found["next_attempt_at"])
        if job.message not in job_messages:
            job_messages.append(job.message)
        if found["status"] == "failed" and job.state == "failed":
            break
        assert time.monotonic() < deadline, found
        time.sleep(0.01)
    error = f"connection refused by 127.0.0.1:{port} (is the SMTP server running on that port?)"
    assert found["attempts"] == ATTEMPTS and found["last_error"] == error
    assert found["next_attempt_at"] is None and found["sent_at"] is None
    assert job.message == (f"email to ops@acme.example not delivered after {ATTEMPTS} "
                           f"attempts: {error}")
    waits = [RETRY_SECONDS * 2 ** k for k in range(ATTEMPTS - 1)]  # 0.2, 0.4, 0.8
    for attempt, wait in enumerate(waits, start=1):
        expected = (f"attempt {attempt} of {ATTEMPTS} failed ({error}); "
                    f"next in {wait:g} s")
        assert expected in job_messages, job_messages
    # each attempt came no sooner than scheduled, so the scheduled times grow by at
    # least the (doubling) wait
    assert sorted(seen_next) == list(range(1, ATTEMPTS)), seen_next
    for attempt in range(2, ATTEMPTS):
        gap = (_time(seen_next[attempt]) - _time(seen_next[attempt - 1])).total_seconds()
        assert gap >= waits[attempt - 1] - 0.01, (attempt, gap, seen_next)
    assert len(world.jobs()) == 1  # one job, run again: not one job per attempt


def test_not_configured_fails_at_once_without_retrying(world: World) -> None:
    mid = world.email("ops@acme.example", "x", "y")
    found = world.wait(mid)
    assert found["status"] == "failed" and found["attempts"] == 1
    assert found["last_error"].startswith("SMTP is not configured")


def test_a_password_under_another_key_fails_clearly_without_retrying(world: World) -> None:
    world.set_smtp(host="127.0.0.1", port=free_port(), username="u", password="p")
    secrets.configure(Fernet.generate_key().decode())  # the key was changed, not rotated
    try:
        found = world.wait(world.email("ops@acme.example", "x", "y"))
    finally:
        secrets.configure(world.settings)
    assert found["status"] == "failed" and found["attempts"] == 1
    assert found["last_error"].startswith("a stored secret cannot be decrypted")
