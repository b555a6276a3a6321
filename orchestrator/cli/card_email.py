"""`orchestrator ratecards email|emails|email-bulk`: email customer cards (thin over
``orchestrator.ratecards.card_email``; attached to the ``ratecards`` group).

Emails go out through delivery jobs. Without a running job worker, ``email`` delivers
them in this process and waits; ``email-bulk`` runs its job here (``_run``), and the
deliveries it queues then wait for the worker unless ``--wait`` is given.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy import select

from orchestrator.cli.carriers import _fail, cli_actor
from orchestrator.cli.ratecards import AS_JSON, _card_id, _enqueue, _queue, _run, worker_alive
from orchestrator.errors import ServiceError
from orchestrator.jobs.queue import JobQueue
from orchestrator.notify.models import Message
from orchestrator.ratecards import card_email, card_email_bulk

FORMAT = click.option("--format", "fmt", type=click.Choice(card_email.FORMATS),
                      default="csv", show_default=True, help="the attachment")
FINAL = ("sent", "failed")


@contextmanager
def _deliveries(queue: JobQueue) -> Iterator[None]:
    """A job consumer in this process while no worker runs (else nothing)."""
    consumer = None
    if not worker_alive(queue):
        click.echo("no job worker is running: delivering in this process", err=True)
        consumer = queue.huey.create_consumer(workers=1, worker_type="thread",
                                              periodic=False, max_delay=0.1)
        consumer.start()
    try:
        yield
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)


def _wait_messages(queue: JobQueue, message_ids: list[int],
                   timeout: float = 600) -> dict[int, Message]:
    """The messages once each is sent or failed (or at the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        with queue.sessions() as session:
            found = {m.id: m for m in session.scalars(
                select(Message).where(Message.id.in_(message_ids)))}
            for message in found.values():
                session.expunge(message)
        if all(m.status in FINAL for m in found.values()) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def _changes_text(changes: dict[str, Any]) -> str:
    if changes.get("first"):
        return f"first card ({changes.get('new', 0)} prefixes)"
    return ", ".join(f"{k} {changes.get(k, 0)}"
                     for k in ("new", "increase", "decrease", "closed", "unchanged"))


@click.command("email")
@click.argument("card")
@click.option("--to", "addresses", multiple=True, required=True, metavar="ADDRESS",
              help="an email address (repeat for several, up to 20)")
@FORMAT
@click.option("--no-wait", is_flag=True, help="queue the emails and return")
@click.option("--preview", is_flag=True, help="print the email the first address would "
              "get; send nothing")
@AS_JSON
def email(card: str, addresses: tuple[str, ...], fmt: str, no_wait: bool, preview: bool,
          as_json: bool) -> None:
    """Email CARD's active revision (CSV or XLSX) with the changes since the last send."""
    actor = cli_actor()
    with _queue() as queue:
        card_id = _card_id(queue, "customer", card)
        if preview:
            try:
                with queue.sessions() as session:
                    first = card_email.clean_addresses(list(addresses))[0]
                    shown = card_email.preview(session, actor, card_id, first, fmt)
            except ServiceError as exc:
                _fail(exc, as_json)
            click.echo(json.dumps(shown, indent=2) if as_json else
                       f"To: {shown['address']}\nSubject: {shown['subject']}\n"
                       f"Attachment: {shown['filename']}\n\n{shown['body']}")
            return
        try:
            with queue.sessions.begin() as session:
                rows = card_email.email_card(session, actor, card_id, list(addresses), fmt)
                sends = card_email.sends_to_dicts(session, rows)
        except ServiceError as exc:
            _fail(exc, as_json)
        if not no_wait:
            with _deliveries(queue):
                final = _wait_messages(queue, [s["message_id"] for s in sends])
            for send in sends:
                message = final.get(send["message_id"])
                if message is not None:
                    send["status"], send["last_error"] = message.status, message.last_error
    if as_json:
        click.echo(json.dumps(sends, indent=2, default=str))
    else:
        for send in sends:
            error = f": {send['last_error']}" if send["last_error"] else ""
            click.echo(f"{send['address']}: {send['status']}{error} "
                       f"(message {send['message_id']}, {_changes_text(send['changes'])})")
    if any(s["status"] == "failed" for s in sends):
        raise click.exceptions.Exit(1)


@click.command("emails")
@click.argument("card")
@click.option("--page", type=click.IntRange(1), default=1, show_default=True)
@click.option("--per-page", type=click.IntRange(1, 500), default=50, show_default=True)
@AS_JSON
def emails(card: str, page: int, per_page: int, as_json: bool) -> None:
    """The emails of CARD, newest first, with their delivery status."""
    actor = cli_actor()
    with _queue() as queue, queue.sessions() as session:
        try:
            found = card_email.list_card_emails(session, actor, _card_id(queue, "customer",
                                                                         card),
                                                page=page, per_page=per_page)
        except ServiceError as exc:
            _fail(exc, as_json)
    if as_json:
        click.echo(json.dumps({"items": list(found.items), "total": found.total,
                               "page": found.page, "per_page": found.per_page},
                              indent=2, default=str))
        return
    if not found.items:
        click.echo("no emails sent")
        return
    for item in found.items:
        click.echo(f"{item['created_at']:%Y-%m-%d %H:%M} {item['address']:<40} "
                   f"{item['format']:<4} r{item['revision_number'] or '?'} "
                   f"{item['status']:<8} {_changes_text(item['changes'])}")
    click.echo(f"{found.total} email(s), page {found.page} of {found.pages}")


@click.command("email-bulk")
@FORMAT
@click.option("--customer", "customers", multiple=True, type=int, metavar="ID",
              help="only this customer (repeat for several; default: every customer)")
@click.option("--wait", is_flag=True, help="also wait until every email is delivered")
@click.option("--no-wait", is_flag=True, help="queue the job and print its id")
@AS_JSON
def email_bulk(fmt: str, customers: tuple[int, ...], wait: bool, no_wait: bool,
               as_json: bool) -> None:
    """Email each customer the cards of its ingress routes (one email per card)."""
    actor = cli_actor()
    with _queue() as queue:
        job = _enqueue(queue, lambda session: card_email_bulk.start_bulk(
            session, actor, fmt, list(customers) or None), as_json)
        if no_wait:
            click.echo(json.dumps({"job": job.id}) if as_json else f"queued job {job.id}")
            return
        _run(queue, job, as_json)
        if wait:
            from orchestrator.jobs import service
            with queue.sessions() as session:
                result = service.job_to_dict(service.get_job(session, actor, job.id))
            ids = [s["message_id"] for s in (result.get("result") or {}).get("sent", [])]
            with _deliveries(queue):
                final = _wait_messages(queue, ids)
            failed = [m for m in final.values() if m.status == "failed"]
            click.echo(f"{len(final) - len(failed)} delivered, {len(failed)} failed",
                       err=as_json)
            if failed:
                raise click.exceptions.Exit(1)
