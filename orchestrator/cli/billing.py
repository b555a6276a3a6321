"""`orchestrator billing ...`: CDRs, rating and balances (a plain group: the other
billing commands are added to it in orchestrator/cli/__init__.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click
from sqlalchemy import select

from orchestrator.billing import rerating
from orchestrator.cli.carriers import cli_actor
from orchestrator.cli.ratecards import _enqueue, _queue, _run
from orchestrator.customers.models import Customer


@click.group()
def billing() -> None:
    """CDRs, rating, re-rating and balances. See docs/rating.md."""


def _time(value: str, option: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time such as "
                                 "2026-01-01T00:00:00Z", param_hint=option) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@billing.command("rerate")
@click.option("--from", "start", required=True, metavar="ISO",
              help="first start time included, e.g. 2026-01-01T00:00:00Z (no offset = UTC)")
@click.option("--to", "end", required=True, metavar="ISO",
              help="first start time excluded")
@click.option("--customer", metavar="ID|NAME", help="only this customer's CDRs")
@click.option("--wait", is_flag=True, help="follow the job to its end (runs it here when "
              "no job worker is up)")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def rerate(start: str, end: str, customer: str | None, wait: bool, as_json: bool) -> None:
    """Rate every CDR that started in [--from, --to) again, both sides; the balances
    move by the difference. Queued as a background job."""
    since, until = _time(start, "--from"), _time(end, "--to")
    actor = cli_actor()
    with _queue() as queue:
        customer_id: int | None = None
        if customer is not None:
            ref = customer.strip()
            if ref.isdigit():
                customer_id = int(ref)
            else:
                with queue.sessions() as session:
                    customer_id = session.scalar(select(Customer.id).where(Customer.name == ref))
                if customer_id is None:
                    raise click.ClickException(f"no customer named {ref!r}")
        job = _enqueue(queue, lambda session: rerating.start_rerate(
            session, actor, since, until, customer_id), as_json)
        if not wait:
            click.echo(json.dumps({"job": job.id}) if as_json else f"queued job {job.id}")
            return
        _run(queue, job, as_json)
