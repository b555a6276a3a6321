"""`orchestrator ratecards email|emails|email-bulk` with a real SMTP server (aiosmtpd).

No worker runs, so the commands deliver in their own process (the fallback)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli import cli
from orchestrator.customers import service as customers
from orchestrator.db import make_engine, migrate, session_factory
from orchestrator.jobs import queue as jobqueue
from orchestrator.routing import routes
from tests.support.mail import Inbox, attachments, body_text, smtp_server
from tests.unit.ratecards.card_email_support import (
    ADMIN,
    BASE,
    T1,
    csv_rates,
    go_live,
    make_card,
)


@pytest.fixture
def inbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    with smtp_server() as server:
        url = f"sqlite:///{tmp_path / 'orchestrator.db'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        with session_factory(engine).begin() as session:
            card = make_card(session)
            go_live(session, card, BASE, T1)
            customer = customers.create_customer(session, ADMIN, {
                "name": "Acme", "currency": "USD", "email": "noc@acme.example"})
            routes.create_route(session, ADMIN, customer.id, {"tariff_id": card.id})
            customers.create_customer(session, ADMIN, {"name": "Mute", "currency": "USD"})
        engine.dispose()
        for name, value in {"VAR_DIR": str(tmp_path), "SMTP_HOST": "127.0.0.1",
                            "SMTP_PORT": str(server.port), "NOTIFY_RETRY_SECONDS": "0.2",
                            "NOTIFY_ATTEMPTS": "2"}.items():
            monkeypatch.setenv(f"ORCHESTRATOR_{name}", value)
        previous = jobqueue.configured()
        yield server
        if previous is not None:
            jobqueue.configure(previous.settings)


def test_email_then_history(inbox: Inbox) -> None:
    runner = CliRunner()
    sent = runner.invoke(cli, ["ratecards", "email", "Retail", "--to", "A@Example.com",
                               "--to", "b@example.com", "--format", "csv"])
    assert sent.exit_code == 0, sent.output
    assert "a@example.com: sent (message 1, first card (5 prefixes))" in sent.output
    assert "b@example.com: sent" in sent.output
    messages = inbox.wait(2)
    assert sorted(m["To"] for m in messages) == ["a@example.com", "b@example.com"]
    assert len(csv_rates(attachments(messages[0])[0][1])) == 5
    history = runner.invoke(cli, ["ratecards", "emails", "Retail", "--json"])
    assert history.exit_code == 0, history.output
    items = json.loads(history.stdout)["items"]
    assert [(i["address"], i["status"]) for i in items] == [("b@example.com", "sent"),
                                                           ("a@example.com", "sent")]
    text = runner.invoke(cli, ["ratecards", "emails", "Retail"])
    assert "2 email(s), page 1 of 1" in text.output


def test_bad_input_is_refused_naming_the_field(inbox: Inbox) -> None:
    runner = CliRunner()
    bad = runner.invoke(cli, ["ratecards", "email", "Retail", "--to", "nope"])
    assert bad.exit_code == 1
    assert "addresses: 'nope' is not an email address" in bad.output
    pdf = runner.invoke(cli, ["ratecards", "email", "Retail", "--to", "a@example.com",
                              "--format", "pdf"])
    assert pdf.exit_code == 2 and "'pdf' is not one of" in pdf.output
    unknown = runner.invoke(cli, ["ratecards", "email", "Nope", "--to", "a@example.com"])
    assert unknown.exit_code == 1 and "no customer card named 'Nope'" in unknown.output
    assert "no emails sent" in runner.invoke(cli, ["ratecards", "emails", "Retail"]).output
    assert inbox.messages == []


def test_email_bulk_waits_for_the_deliveries(inbox: Inbox) -> None:
    runner = CliRunner()
    done = runner.invoke(cli, ["ratecards", "email-bulk", "--format", "csv", "--wait",
                               "--json"])
    assert done.exit_code == 0, done.output
    job = json.loads(done.stdout)
    assert job["state"] == "done"
    assert [(s["customer"], s["address"]) for s in job["result"]["sent"]] == [
        ("Acme", "noc@acme.example")]
    assert [(s["customer"], s["reason"]) for s in job["result"]["skipped"]] == [
        ("Mute", "no email address")]
    [message] = inbox.wait(1)
    assert body_text(message).startswith("Dear Acme,")
    assert "1 delivered, 0 failed" in done.stderr


def test_preview_prints_the_email_and_sends_nothing(inbox: Inbox) -> None:
    shown = CliRunner().invoke(cli, ["ratecards", "email", "Retail", "--to",
                                     "noc@acme.example", "--format", "xlsx", "--preview"])
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith("To: noc@acme.example\nSubject: Rate card Retail Premium "
                                   "(USD), effective 2026-11-02\nAttachment: "
                                   "Retail_Premium-20261102.xlsx\n\nDear Acme,\n")
    assert "This is the first card sent to you: 5 prefixes." in shown.output
    history = CliRunner().invoke(cli, ["ratecards", "emails", "Retail"])
    assert "no emails sent" in history.output
    assert inbox.messages == []
