"""`orchestrator messages list|show|retry`: the log of emails and SMS, thin over
orchestrator.notify.outbox (docs/notifications.md)."""

from __future__ import annotations

from typing import Any

import click

from orchestrator.cli.carriers import _echo_json, _run, json_option
from orchestrator.cli.common import load_settings
from orchestrator.jobs import queue as jobqueue
from orchestrator.listing import ListQuery
from orchestrator.notify import outbox
from orchestrator.notify.models import CHANNELS, MESSAGE_STATUSES, PURPOSES


@click.group()
def messages() -> None:
    """Every email and SMS the switch sends: to whom, what, and how delivery went.

    A message is tried notify_attempts times, waiting notify_retry_seconds and
    doubling the wait after each failure, then it is failed with the last error.
    """


def _line(m: dict[str, Any]) -> str:
    what = m["subject"] or m["body"].replace("\n", " ")
    return (f"{m['id']:>6}  {m['created_at'][:19]:<19}  {m['channel']:<5}  "
            f"{m['status']:<8}  {m['purpose']:<12}  {m['recipient'][:32]:<32}  {what[:40]}")


@messages.command("list")
@click.option("-q", "--search", "q", default="", help="Text in recipient, subject or text.")
@click.option("--status", type=click.Choice(MESSAGE_STATUSES))
@click.option("--channel", type=click.Choice(CHANNELS))
@click.option("--purpose", type=click.Choice(PURPOSES))
@click.option("--customer", "customer_id", type=int, help="Only this customer's (id).")
@click.option("--sort", default="-id", show_default=True,
              help=f"{', '.join(outbox.SORTABLE)}; '-' prefix for descending.")
@click.option("--page", default=1, show_default=True)
@click.option("--per-page", default=50, show_default=True)
@json_option
def list_(q: str, status: str | None, channel: str | None, purpose: str | None,
          customer_id: int | None, sort: str, page: int, per_page: int,
          as_json: bool) -> None:
    """List messages, newest first."""
    def work(session: Any, actor: Any) -> dict[str, Any]:
        found = outbox.list_messages(session, actor, ListQuery(q, sort, page, per_page),
                                     channel=channel or "", status=status or "",
                                     purpose=purpose or "", customer_id=customer_id)
        return {"items": [outbox.message_to_dict(m) for m in found.items],
                "total": found.total, "page": found.page, "per_page": found.per_page,
                "pages": found.pages}

    data = _run(as_json, work)
    if as_json:
        _echo_json(data)
        return
    click.echo(f"{'ID':>6}  {'CREATED (UTC)':<19}  {'CHAN':<5}  {'STATUS':<8}  "
               f"{'PURPOSE':<12}  {'TO':<32}  SUBJECT / TEXT")
    for item in data["items"]:
        click.echo(_line(item))
    click.echo(f"{data['total']} messages, page {data['page']} of {data['pages']}")


@messages.command("show")
@click.argument("message_id", type=int)
@json_option
def show(message_id: int, as_json: bool) -> None:
    """Show message MESSAGE_ID with its text and last error."""
    data = _run(as_json, lambda s, a: outbox.message_to_dict(
        outbox.get_message(s, a, message_id)))
    if as_json:
        _echo_json(data)
        return
    for key, value in data.items():
        if key != "body":
            click.echo(f"{key:<16} {'' if value is None else value}")
    click.echo("\n" + data["body"])


@messages.command("retry")
@click.argument("message_id", type=int)
@json_option
def retry(message_id: int, as_json: bool) -> None:
    """Send failed message MESSAGE_ID again (a new delivery job, run by the worker:
    `orchestrator jobs worker` must be running)."""
    jobqueue.configure(load_settings())
    jobqueue.load_task_modules()
    try:
        data = _run(as_json, lambda s, a: outbox.message_to_dict(
            outbox.retry(s, a, message_id)))
    finally:
        jobqueue.reset()
    if as_json:
        _echo_json(data)
    else:
        click.echo(f"message {message_id} queued again (job {data['job_id']})")
