"""PRODUCT.md §4 on the real switch: a customer with verification_required is refused
with `403 Verification Required` until its email AND mobile are verified with the codes
that really arrived (aiosmtpd, a local HTTP SMS gateway, a real job consumer), and
calls right after the change is applied."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import pytest
from sqlalchemy import delete

from orchestrator.jobs import queue as jobqueue
from orchestrator.notify import config
from orchestrator.notify.models import StoredSettings
from orchestrator.verification import codes, subjects
from tests.support.carriers import CarrierFarm
from tests.support.dataplane import Dataplane
from tests.support.jobs import running_consumer
from tests.support.mail import Inbox, SmsGateway, body_text, sms_gateway, smtp_server
from tests.support.switch_world import ADMIN

if TYPE_CHECKING:
    from tests.integration.routing.conftest import CallerFactory

pytestmark = pytest.mark.integration

CODE = re.compile(r"\b(\d{6})\b")


@pytest.fixture
def delivery(dataplane: Dataplane) -> Iterator[tuple[Inbox, SmsGateway]]:
    """SMTP and SMS settings of the session database pointed at a real SMTP server and
    gateway, with a job consumer delivering; all undone afterwards."""
    previous = jobqueue.configured()
    queue = jobqueue.configure(dataplane.settings)
    try:
        with smtp_server() as inbox, sms_gateway() as gateway, running_consumer(queue):
            with dataplane.sessions.begin() as session:
                config.update_smtp(session, ADMIN, dataplane.settings, {
                    "host": "127.0.0.1", "port": inbox.port,
                    "from_address": "verify@switch.test"})
                config.update_sms(session, ADMIN, {
                    "url": f"{gateway.url}/send", "body_template": "to={to}&text={text}"})
            yield inbox, gateway
    finally:
        with dataplane.sessions.begin() as session:
            session.execute(delete(StoredSettings).where(
                StoredSettings.name.in_(["smtp", "sms"])))
        if previous is not None:
            jobqueue.configure(previous.settings)
        else:
            jobqueue.reset()


def _code(text: str) -> str:
    found = CODE.search(text)
    assert found, f"no 6-digit code in {text!r}"
    return found.group(1)


def _verify(dataplane: Dataplane, customer_id: int, channel: str, code: str) -> None:
    with dataplane.sessions.begin() as session:
        checked = codes.check_code(session, ADMIN, subjects.customer(customer_id), channel,
                                   code)
    checked.raise_error()
    assert checked.verified


def test_refused_until_email_and_mobile_are_verified_then_calls_after_apply(
        dataplane: Dataplane, farm: CarrierFarm, caller_factory: CallerFactory,
        delivery: tuple[Inbox, SmsGateway]) -> None:
    inbox, gateway = delivery
    w = dataplane.world()
    carrier = w.carrier([farm.add("verified", "answer")])
    tariff = w.tariff([w.provider_card(carrier, {"44": "0.01"})])
    src = dataplane.source_ip()
    customer = w.customer(ips_=[src], verification_required=True,
                          email="noc@verify.example", mobile="+447400123456")
    w.route(customer, tariff)
    w.commit()
    dataplane.apply()
    caller = caller_factory(src)
    assert caller.call("441234") == "403 Verification Required"

    # email verified with the code that arrived by email: still refused (mobile not yet)
    with dataplane.sessions.begin() as session:
        codes.send_code(session, ADMIN, subjects.customer(customer.id), "email")
    [email] = inbox.wait(1)
    assert email["To"] == "noc@verify.example"
    _verify(dataplane, customer.id, "email", _code(body_text(email)))
    dataplane.apply()
    assert caller.call("441234") == "403 Verification Required"

    # mobile verified with the code the SMS gateway received
    with dataplane.sessions.begin() as session:
        codes.send_code(session, ADMIN, subjects.customer(customer.id), "mobile")
    [request] = gateway.wait(1)
    form = parse_qs(request.body.decode())
    assert form["to"] == ["+447400123456"]
    _verify(dataplane, customer.id, "mobile", _code(form["text"][0]))
    assert caller.call("441234") == "403 Verification Required"  # not applied yet
    dataplane.apply()
    assert caller.call("441234", hold_ms=100) == "200 OK"
    assert farm.report("verified").invites == 1
