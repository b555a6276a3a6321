"""`orchestrator calls list|hangup|dtmf`: the calls the switch carries now
(thin over orchestrator.calls.service, docs/live-calls.md) and the DTMF events of a
call (orchestrator.media.service)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.cli.carriers import _echo_json, _run, json_option
from orchestrator.cli.common import load_settings
from orchestrator.db import make_engine, session_factory


@click.group()
def calls() -> None:
    """Calls seen by the switch: the live ones (list, hang up) and their DTMF events."""


def _duration(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _name(named: dict[str, Any] | None) -> str:
    if named is None:
        return "-"
    return named["name"] or f"#{named['id']}"


def _media(media: dict[str, Any]) -> str:
    mode = media["mode"] or "?"
    return mode if media["state"] == "n/a" else f"{mode}/{media['state']}"


@calls.command("list")
@click.option("--customer", "customer_id", type=click.IntRange(1), help="Customer id.")
@click.option("--carrier", "carrier_id", type=click.IntRange(1),
              help="Carrier id (the answering one, or the one being tried).")
@json_option
def list_(customer_id: int | None, carrier_id: int | None, as_json: bool) -> None:
    """The calls the switch carries now, ringing and answered, oldest first.

    Only the local node is asked. Exit code 1 when it cannot be (Kamailio down).
    """
    from orchestrator.calls import service

    settings = load_settings()

    def work(session: Session, actor: Actor) -> dict[str, Any]:
        try:
            found = service.list_calls(session, settings, actor=actor,
                                       customer_id=customer_id, carrier_id=carrier_id)
        except service.CallsUnavailable as exc:
            return {"items": [], "total": 0, "errors": [{"node": service.NODE,
                                                         "error": str(exc)}]}
        return {"items": [c.to_dict() for c in found], "total": len(found), "errors": []}

    data: dict[str, Any] = _run(as_json, work)
    if as_json:
        _echo_json(data)
    elif data["items"]:
        click.echo(f"{'ID':<13} {'STATE':<9} {'TIME':>8} {'CUSTOMER':<20} {'CALLER':<16} "
                   f"{'DIALLED':<16} {'CARRIER':<20} MEDIA")
        for c in data["items"]:
            time_ = _duration(c["duration"] if c["state"] == "answered" else c["age"])
            click.echo(f"{c['id']:<13} {c['state']:<9} {time_:>8} "
                       f"{_name(c['customer'])[:20]:<20} {c['caller'][:16]:<16} "
                       f"{c['dialled'][:16]:<16} {_name(c['carrier'])[:20]:<20} "
                       f"{_media(c['media'])}")
        click.echo(f"{data['total']} call(s)")
    elif not data["errors"]:
        click.echo("no calls in progress")
    for failure in data["errors"]:
        if not as_json:
            click.echo(f"error: node {failure['node']}: {failure['error']}", err=True)
    if data["errors"]:
        sys.exit(1)


@calls.command("hangup")
@click.argument("call")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@json_option
def hangup(call: str, yes: bool, as_json: bool) -> None:
    """Hang up CALL (its id from `orchestrator calls list`, or its Call-ID).

    An answered call gets a BYE on both sides; a ringing one is cancelled toward the
    carrier (the customer gets 487). Recorded in the audit log.
    """
    from orchestrator.calls import service

    settings = load_settings()
    if not yes:
        click.confirm(f"Hang up call {call}? Both sides are disconnected", abort=True)
    result: dict[str, Any] = _run(as_json, lambda session, actor: service.hangup(
        session, actor, settings, call))
    if as_json:
        _echo_json(result)
    else:
        verb = "hung up (BYE to both sides)" if result["action"] == "bye" else \
            "cancelled (CANCEL to the carrier, 487 to the customer)"
        click.echo(f"call {result['id']} ({result['call_id']}, {result['caller']} -> "
                   f"{result['dialled']}, {_name(result['customer'])}) {verb}")


@calls.command("dtmf")
@click.argument("call_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def calls_dtmf(call_id: str, as_json: bool) -> None:
    """DTMF events of a call (by its Call-ID), counted when its media was proxied."""
    from orchestrator.media.service import dtmf_record

    engine = make_engine(load_settings().db_url)
    try:
        with session_factory(engine)() as session:
            row = dtmf_record(session, call_id)
            data = None if row is None else {
                "call_id": row.call_id, "events": row.events, "digits": row.digits,
                "first_at": row.first_at.isoformat(), "last_at": row.last_at.isoformat()}
    except OperationalError as exc:
        raise click.ClickException(f"the database is not ready ({exc.orig}); "
                                   "run `orchestrator db upgrade` first") from exc
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(data or {"call_id": call_id, "events": 0, "digits": ""}))
    elif data is None:
        click.echo(f"{call_id}: no DTMF events (none sent, media not proxied, or not "
                   "collected yet)")
    else:
        click.echo(f"{call_id}: {data['events']} DTMF event(s), digits "
                   f"{data['digits'] or '-'}, {data['first_at']} .. {data['last_at']}")
