"""REST: email a customer card, its history and the bulk send, through the WSGI app, with
a real SMTP server (aiosmtpd) and a real job consumer delivering the messages."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from orchestrator.customers import service as customers
from orchestrator.db import make_engine, session_factory
from orchestrator.jobs import queue as jobqueue
from orchestrator.notify.models import Message
from orchestrator.ratecards.models import CardEmail
from orchestrator.routing import routes
from tests.api.conftest import Api
from tests.support.dataplane import test_settings as make_settings
from tests.support.jobs import running_consumer
from tests.support.mail import Inbox, attachments, body_text, smtp_server
from tests.unit.ratecards.card_email_support import (
    ADMIN,
    BASE,
    T1,
    card_rates,
    csv_rates,
    go_live,
    make_card,
    xlsx_rates,
)
from webui import create_app


@pytest.fixture
def mail_api(template_db: Path, tmp_path: Path) -> Iterator[tuple[Api, Inbox]]:
    with smtp_server() as inbox:
        settings = make_settings(tmp_path, smtp_host="127.0.0.1", smtp_port=inbox.port,
                                 notify_retry_seconds=0.2)
        settings.ensure_dirs()
        shutil.copy(template_db, tmp_path / "orchestrator.db")
        app = create_app(settings)
        engine = make_engine(settings.db_url)
        queue = jobqueue.configure(settings)
        jobqueue.load_task_modules()
        try:
            with running_consumer(queue):
                yield Api(app, app.test_client(), session_factory(engine)), inbox
        finally:
            jobqueue.reset()
            engine.dispose()
            app.extensions["webui"].engine.dispose()


def _card(api: Api, name: str = "Retail") -> tuple[int, int]:
    with api.sessions.begin() as session:
        card = make_card(session, name=name, public_name=f"{name} Premium")
        return card.id, go_live(session, card, BASE, T1).id


def _counts(api: Api) -> tuple[int, int]:
    with api.sessions() as session:
        return (session.scalar(select(func.count()).select_from(CardEmail)) or 0,
                session.scalar(select(func.count()).select_from(Message)) or 0)


def test_send_csv_and_xlsx_then_the_history(mail_api: tuple[Api, Inbox]) -> None:
    api, inbox = mail_api
    card_id, revision_id = _card(api)
    answer = api.client.post(f"/api/v1/customer-cards/{card_id}/email", headers=api.auth(
        "oscar"), json={"addresses": ["Rates@Customer.example", "noc@customer.example",
                                      "rates@customer.example"], "format": "csv"})
    assert answer.status_code == 202, answer.get_json()
    sends = answer.get_json()["sends"]
    assert [s["address"] for s in sends] == ["rates@customer.example", "noc@customer.example"]
    assert all(s["message_id"] and s["changes"]["first"] for s in sends)
    assert sends[0]["changes"]["new"] == 5 and sends[0]["revision_number"] == 1
    xlsx = api.client.post(f"/api/v1/customer-cards/{card_id}/email", headers=api.auth(),
                           json={"addresses": ["rates@customer.example"], "format": "xlsx"})
    assert xlsx.status_code == 202, xlsx.get_json()
    messages = inbox.wait(3)
    assert len(messages) == 3
    with api.sessions() as session:
        expected = card_rates(session, revision_id)
    by_file = {name: content for m in messages for name, content in attachments(m)
               if m["To"] == "rates@customer.example"}
    assert csv_rates(by_file["Retail_Premium-20261102.csv"]) == expected
    assert xlsx_rates(by_file["Retail_Premium-20261102.xlsx"]) == expected
    [third] = [m for m in messages if attachments(m)[0][0].endswith(".xlsx")]
    assert "unchanged: 5" in body_text(third) and "No rate has changed." in body_text(third)
    deadline = time.monotonic() + 15
    while True:
        history = api.client.get(f"/api/v1/customer-cards/{card_id}/emails",
                                 headers=api.auth("vera")).get_json()
        if all(h["status"] == "sent" for h in history["items"]) \
                or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert history["total"] == 3
    assert [(h["address"], h["format"], h["status"]) for h in history["items"]] == [
        ("rates@customer.example", "xlsx", "sent"), ("noc@customer.example", "csv", "sent"),
        ("rates@customer.example", "csv", "sent")]
    assert history["items"][0]["changes"]["first"] is False


@pytest.mark.parametrize(("body", "field"), [
    ({"addresses": ["nope"], "format": "csv"}, "addresses"),
    ({"addresses": [], "format": "csv"}, "addresses"),
    ({"addresses": [f"u{n}@example.com" for n in range(21)], "format": "csv"}, "addresses"),
    ({"addresses": ["a@example.com"], "format": "pdf"}, "format"),
    ({"format": "csv"}, "addresses"),
])
def test_bad_input_is_422_naming_the_field(mail_api: tuple[Api, Inbox],
                                           body: dict[str, Any], field: str) -> None:
    api, _ = mail_api
    card_id, _ = _card(api)
    answer = api.client.post(f"/api/v1/customer-cards/{card_id}/email", json=body,
                             headers=api.auth())
    assert answer.status_code == 422, answer.get_json()
    assert field in answer.get_json()["errors"]
    assert _counts(api) == (0, 0)


def test_unknown_card_404_card_without_revision_422_viewer_403(
        mail_api: tuple[Api, Inbox]) -> None:
    api, _ = mail_api
    body = {"addresses": ["a@example.com"], "format": "csv"}
    missing = api.client.post("/api/v1/customer-cards/9999/email", json=body,
                              headers=api.auth())
    assert missing.status_code == 404
    with api.sessions.begin() as session:
        empty = make_card(session, name="Empty").id
    answer = api.client.post(f"/api/v1/customer-cards/{empty}/email", json=body,
                             headers=api.auth())
    assert answer.status_code == 422
    assert answer.get_json()["errors"] == {"card": [
        "the card has no active revision: build or activate one first"]}
    card_id, _ = _card(api)
    viewer = api.client.post(f"/api/v1/customer-cards/{card_id}/email", json=body,
                             headers=api.auth("vera"))
    assert viewer.status_code == 403
    bulk = api.client.post("/api/v1/customer-cards/email-bulk", json={"format": "csv"},
                           headers=api.auth("vera"))
    assert bulk.status_code == 403
    assert _counts(api) == (0, 0)
    assert api.client.get(f"/api/v1/customer-cards/{card_id}/emails",
                          headers=api.auth("vera")).get_json()["total"] == 0


def _customer(api: Api, name: str, email: str, card_ids: list[int],
              status: str = "active") -> int:
    with api.sessions.begin() as session:
        customer = customers.create_customer(session, ADMIN, {
            "name": name, "currency": "USD", "email": email, "status": status})
        for priority, card_id in enumerate(card_ids):
            routes.create_route(session, ADMIN, customer.id,
                                {"tariff_id": card_id, "priority": priority})
        return customer.id


def test_bulk_sends_each_customer_the_cards_of_its_routes(mail_api: tuple[Api, Inbox]
                                                          ) -> None:
    api, inbox = mail_api
    retail, _ = _card(api, "Retail")
    premium, _ = _card(api, "Premium")
    acme = _customer(api, "Acme", "noc@acme.example", [retail, premium, retail])
    bravo = _customer(api, "Bravo", "rates@bravo.example", [premium])
    quiet = _customer(api, "Quiet", "", [retail])
    lonely = _customer(api, "Lonely", "x@lonely.example", [])
    asleep = _customer(api, "Asleep", "x@asleep.example", [retail], status="inactive")
    answer = api.client.post("/api/v1/customer-cards/email-bulk", headers=api.auth("oscar"),
                             json={"format": "xlsx"})
    assert answer.status_code == 202, answer.get_json()
    job = api.wait_job(answer.get_json()["id"])
    assert job["state"] == "done", job
    sent = sorted((s["customer"], s["card"], s["address"]) for s in job["result"]["sent"])
    assert sent == [("Acme", "Premium", "noc@acme.example"),
                    ("Acme", "Retail", "noc@acme.example"),
                    ("Bravo", "Premium", "rates@bravo.example")]
    skipped = {s["customer_id"]: s["reason"] for s in job["result"]["skipped"]}
    assert skipped == {quiet: "no email address",
                       lonely: "no ingress route (no card to send)",
                       asleep: "inactive customer (name it to send anyway)"}
    messages = inbox.wait(3)
    assert sorted((m["To"], attachments(m)[0][0]) for m in messages) == [
        ("noc@acme.example", "Premium_Premium-20261102.xlsx"),
        ("noc@acme.example", "Retail_Premium-20261102.xlsx"),
        ("rates@bravo.example", "Premium_Premium-20261102.xlsx")]
    assert all(body_text(m).startswith("Dear ") for m in messages)
    with api.sessions() as session:
        assert {m.customer_id for m in session.scalars(select(Message))} == {acme, bravo}
    only = api.client.post("/api/v1/customer-cards/email-bulk", headers=api.auth(),
                           json={"format": "csv", "customer_ids": [quiet, lonely]})
    assert only.status_code == 422
    assert "nothing to send" in only.get_json()["errors"]["customer_ids"][0]
    unknown = api.client.post("/api/v1/customer-cards/email-bulk", headers=api.auth(),
                              json={"format": "csv", "customer_ids": [bravo, 98765]})
    assert unknown.status_code == 404
    bad = api.client.post("/api/v1/customer-cards/email-bulk", headers=api.auth(),
                          json={"format": "pdf"})
    assert bad.status_code == 422 and "format" in bad.get_json()["errors"]
    named = api.client.post("/api/v1/customer-cards/email-bulk", headers=api.auth(),
                            json={"format": "csv", "customer_ids": [asleep, quiet]})
    assert named.status_code == 202, named.get_json()
    result = api.wait_job(named.get_json()["id"])["result"]
    assert [(s["customer"], s["card"]) for s in result["sent"]] == [("Asleep", "Retail")]
    assert [(s["customer"], s["reason"]) for s in result["skipped"]] == [
        ("Quiet", "no email address")]
    assert _counts(api)[0] == 4


def test_preview_shows_what_an_address_would_get(mail_api: tuple[Api, Inbox]) -> None:
    api, inbox = mail_api
    card_id, _ = _card(api)
    url = f"/api/v1/customer-cards/{card_id}/email/preview"
    first = api.client.get(url, query_string={"address": "A@example.com", "format": "xlsx"},
                           headers=api.auth("vera"))
    assert first.status_code == 200, first.get_json()
    shown = first.get_json()
    assert shown["address"] == "a@example.com"
    assert shown["filename"] == "Retail_Premium-20261102.xlsx"
    assert "This is the first card sent to you: 5 prefixes." in shown["body"]
    assert shown["changes"]["first"] is True
    bad = api.client.get(url, query_string={"address": "nope"}, headers=api.auth("vera"))
    assert bad.status_code == 422 and "address" in bad.get_json()["errors"]
    assert _counts(api) == (0, 0) and inbox.messages == []
