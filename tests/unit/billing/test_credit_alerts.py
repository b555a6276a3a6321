"""Low-balance email alerts: one email (through a real SMTP server, aiosmtpd, and a real
job consumer) when the balance crosses below the threshold, none again until it has
gone back above; nothing while above, without a threshold, or after a rollback."""

from __future__ import annotations

import email
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.billing.changes import balance_changed
from orchestrator.billing.models import LowBalanceAlert
from orchestrator.customers import payments, service
from orchestrator.db import make_engine, session_factory, upgrade
from orchestrator.errors import ValidationFailed
from orchestrator.jobs import queue as jobqueue
from orchestrator.jobs.models import Job
from orchestrator.notify.models import Message as OutboxMessage
from orchestrator.notify.outbox import queue_email
from tests.support.dataplane import test_settings as make_settings
from tests.support.jobs import running_consumer
from tests.support.ports import free_port
from tests.unit.billing.balances_support import OPERATOR, U, rate


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def wait(self, count: int, timeout: float = 10.0) -> list[Message]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


@dataclass
class World:
    sessions: sessionmaker[Session]
    inbox: Inbox
    queue: jobqueue.JobQueue


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    inbox = Inbox()
    port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    settings = make_settings(tmp_path, smtp_host="127.0.0.1", smtp_port=port,
                             smtp_from="billing@switch.test")
    settings.ensure_dirs()
    upgrade(settings.db_url)
    engine = make_engine(settings.db_url)
    previous = jobqueue.configured()
    queue = jobqueue.configure(settings)
    try:
        with running_consumer(queue):
            yield World(session_factory(engine), inbox, queue)
    finally:
        smtp.stop()
        engine.dispose()
        if previous is not None:
            jobqueue.configure(previous.settings)


def add_customer(world: World, **fields: Any) -> int:
    with world.sessions.begin() as session:
        c = service.create_customer(session, OPERATOR, {
            "name": "Acme", "currency": "EUR", "email": "noc@acme.example",
            "low_balance_threshold": "10", **fields})
        payments.add_payment(session, OPERATOR, c.id, {"amount": "15",
                                                       "status": "completed"})
        return c.id


def rate_and_notify(world: World, customer_id: int, units: int) -> None:
    """What rating does: CDRs + running total + balance_changed, one transaction."""
    with world.sessions.begin() as session:
        rate(session, customer_id, units)
        balance_changed(session, [customer_id])


def emails_jobs(world: World) -> list[Job]:
    with world.sessions() as session:
        return list(session.scalars(select(Job).where(Job.kind == "notify.deliver")))


def test_one_email_when_crossing_below_and_again_only_after_going_back_above(
        world: World) -> None:
    cid = add_customer(world)                      # 15 >= 10: nothing
    rate_and_notify(world, cid, 4 * U)             # 11: still above
    time.sleep(0.5)
    assert world.inbox.messages == [] and emails_jobs(world) == []
    rate_and_notify(world, cid, 3 * U + U // 2)    # 7.50: below -> one email
    [message] = world.inbox.wait(1)
    assert message["To"] == "noc@acme.example"
    assert message["From"] == "billing@switch.test"
    assert message["Subject"] == "Low balance: 7.5 EUR"
    body = message.get_payload()
    assert "balance of your account is 7.5 EUR" in body and "threshold of 10 EUR" in body
    rate_and_notify(world, cid, U)                 # 6.50: still below, no second email
    time.sleep(1.0)
    assert len(world.inbox.messages) == 1 and len(emails_jobs(world)) == 1
    with world.sessions.begin() as session:        # back above: 16.50
        payments.add_payment(session, OPERATOR, cid, {"amount": "10", "status": "completed"})
    with world.sessions() as session:
        assert session.get(LowBalanceAlert, cid) is None
    rate_and_notify(world, cid, 8 * U)             # 8.50: below again -> second email
    assert len(world.inbox.wait(2)) == 2
    assert world.inbox.messages[1]["Subject"] == "Low balance: 8.5 EUR"


def test_a_payment_back_to_pending_can_cross_below(world: World) -> None:
    cid = add_customer(world, low_balance_threshold="5")
    with world.sessions.begin() as session:
        [payment] = payments.list_payments(session, OPERATOR, cid).items
        payments.set_payment_status(session, OPERATOR, cid, payment.id, "pending")
    [message] = world.inbox.wait(1)
    assert message["Subject"] == "Low balance: 0 EUR"


def test_no_email_without_threshold_or_when_rolled_back(world: World) -> None:
    cid = add_customer(world, low_balance_threshold="")
    rate_and_notify(world, cid, 20 * U)            # -5 but no threshold
    other = None
    with world.sessions() as session, pytest.raises(RuntimeError), session.begin():
        c = service.create_customer(session, OPERATOR, {
            "name": "Beta", "currency": "EUR", "email": "b@beta.example",
            "low_balance_threshold": "1"})
        other = c.id
        balance_changed(session, [c.id])       # 0 < 1: an email job joins ...
        raise RuntimeError("rating failed")    # ... and is dropped with the rollback
    assert other is not None
    time.sleep(1.0)
    assert world.inbox.messages == [] and emails_jobs(world) == []


def test_setting_a_threshold_above_the_balance_alerts_at_once(world: World) -> None:
    cid = add_customer(world, low_balance_threshold="")
    with world.sessions.begin() as session:
        service.update_customer(session, OPERATOR, cid, {"low_balance_threshold": "20"})
    [message] = world.inbox.wait(1)
    assert message["Subject"] == "Low balance: 15 EUR"


def test_without_smtp_host_the_message_fails_at_once_and_says_why(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)  # no smtp_host
    settings.ensure_dirs()
    upgrade(settings.db_url)
    previous = jobqueue.configured()
    queue = jobqueue.configure(settings)
    try:
        with running_consumer(queue):
            with queue.sessions.begin() as session:
                mid = queue_email(session, OPERATOR, "x@example.com", "Subject", "Body").id
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with queue.sessions() as session:
                    message = session.get(OutboxMessage, mid)
                    assert message is not None
                    if message.status == "failed":
                        break
                time.sleep(0.05)
        assert message.status == "failed" and message.attempts == 1  # not retried
        assert "SMTP is not configured" in message.last_error
        with queue.sessions() as session:
            job = session.get(Job, message.job_id)
            assert job is not None and job.state == "failed"
            assert "not delivered after 1 attempt" in job.message
        with queue.sessions() as session, pytest.raises(ValidationFailed):
            queue_email(session, OPERATOR, "", "Subject", "Body")
    finally:
        if previous is not None:
            jobqueue.configure(previous.settings)
