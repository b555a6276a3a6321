"""`orchestrator bans list|lift`: thin over orchestrator.switch.bans (docs/abuse.md)."""

from __future__ import annotations

import sys
from typing import Any

import click

from orchestrator.cli.carriers import _echo_json, _run, json_option
from orchestrator.cli.common import load_settings
from orchestrator.switch import bans as service


@click.group()
def bans() -> None:
    """Source addresses banned for flooding the switch.

    An address that sends more than flood_requests SIP requests in flood_window
    seconds is banned for ban_seconds: every request from it is dropped without a
    reply. Known customer and carrier addresses are never banned. See docs/abuse.md.
    """


def _duration(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _warn(errors: list[dict[str, str]]) -> None:
    for failure in errors:
        click.echo(f"warning: node {failure['node']}: {failure['error']}", err=True)


@bans.command("list")
@json_option
def list_(as_json: bool) -> None:
    """The bans in force on every switch node, with the time left.

    Exit code 1 when a node could not be read (its bans are missing from the list).
    """
    settings = load_settings()
    found: dict[str, Any] = _run(as_json, lambda session, actor: service.list_bans(
        session, actor, settings))
    if as_json:
        _echo_json(found)
    elif not found["items"]:
        click.echo("no address is banned" + (" on the nodes that answered"
                                             if found["errors"] else ""))
    else:
        click.echo(f"{'ADDRESS':<40} {'NODE':<16} {'ENDS (UTC)':<21} LEFT")
        for ban in found["items"]:
            click.echo(f"{ban['ip']:<40} {ban['node']:<16} {ban['expires_at']:<21} "
                       f"{_duration(ban['remaining_seconds'])}")
    if found["errors"]:
        if not as_json:
            _warn(found["errors"])
        sys.exit(1)


@bans.command("lift")
@click.argument("ip")
@json_option
def lift(ip: str, as_json: bool) -> None:
    """Lift the ban of IP on every node: its requests are answered again at once.

    IP as `orchestrator bans list` shows it (203.0.113.7, 2001:db8::7). An address
    that floods again is banned again. Exit code 1 when no node bans it.
    """
    settings = load_settings()
    result: dict[str, Any] = _run(as_json, lambda session, actor: service.lift(
        session, actor, settings, ip))
    if as_json:
        _echo_json(result)
    else:
        click.echo(f"lifted the ban of {result['ip']} on {', '.join(result['nodes'])}")
        _warn(result["errors"])
