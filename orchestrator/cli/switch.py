"""`orchestrator apply|status|rollback`: thin over orchestrator.switch.service.

Apply and rollback are background jobs: queued to the stack's job worker when it
runs, else run in this process, with the same progress bar as `jobs follow`.
"""

from __future__ import annotations

import json
from typing import Any

import click
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.cli.carriers import _echo_json, cli_actor, json_option
from orchestrator.cli.carriers import _run as run_in_session
from orchestrator.cli.common import load_settings
from orchestrator.cli.ratecards import _enqueue, _queue
from orchestrator.cli.ratecards import _run as follow
from orchestrator.jobs.models import Job
from orchestrator.switch import service

WAIT = click.option("--wait/--no-wait", default=True, show_default=True,
                    help="Follow the job's progress until it ends (exit 1 if it fails), "
                         "or only queue it and print its id.")


def _short(version: str | None) -> str:
    return version[:12] if version else "-"


def _start(start: Any, wait: bool, as_json: bool) -> None:
    """Queue the job ``start(session, actor, settings)`` makes; follow it if asked."""
    actor = cli_actor()
    with _queue() as queue:
        job: Job = _enqueue(queue, lambda session: start(session, actor, queue.settings),
                            as_json)
        if not wait:
            click.echo(json.dumps({"job": job.id}) if as_json else f"queued job {job.id}")
            return
        follow(queue, job, as_json)


@click.command("apply")
@WAIT
@json_option
def apply_(wait: bool, as_json: bool) -> None:
    """Compile the model and apply it to the switch.

    Every node gets the new snapshot written beside the one it serves, reloads it,
    checks what Kamailio loaded, and only then switches new calls to it; calls in
    progress keep the data they started with. If the model has problems (a route
    with an unknown media zone...), each one is listed and nothing is applied. If a
    node fails, calls keep flowing on the previous snapshot, the error is printed
    and the exit code is 1.
    """
    _start(service.start_apply, wait, as_json)


@click.command("rollback")
@click.argument("version", required=False)
@WAIT
@json_option
def rollback(version: str | None, wait: bool, as_json: bool) -> None:
    """Serve an earlier snapshot again (default: the previous one).

    VERSION is a kept snapshot's version or its first 6+ digits (see `orchestrator
    status`); the last applied snapshots are kept. When the other generation still
    holds it the rollback is a flip, else the kept snapshot is applied again. If it
    fails, the snapshot serving now keeps serving.
    """
    def start(session: Session, actor: Actor, settings: Any) -> Job:
        return service.start_rollback(session, actor, settings, version)

    _start(start, wait, as_json)


def render(result: dict[str, Any]) -> list[str]:
    """The status as readable lines."""
    lines: list[str] = []
    for node in result["nodes"]:
        if node["reachable"]:
            lines.append(f"node {node['node']}: up, serving generation {node['serving']} "
                         f"(snapshot {_short(node['version'])}; other generation: "
                         f"{_short(node['other_version'])})")
            trees = ", ".join(f"{t['name']} ({t['items']:,})" for t in node["trees"])
            lines.append(f"  trees: {trees or '-'}")
        else:
            lines.append(f"node {node['node']}: DOWN ({node['error']}); its table file "
                         f"serves generation {node['serving_file'] or '-'} (snapshot "
                         f"{_short(node['version'])})")
    pending = result["pending"]
    if pending["error"]:
        lines.append("pending: the model has changes that cannot be applied:")
        lines += [f"  {field}: {' '.join(messages)}"
                  for field, messages in pending["error"].items()]
    elif pending["pending"]:
        lines.append(f"pending: yes, the model (snapshot "
                     f"{_short(pending['compiled_version'])}) is not on the switch yet "
                     f"(serving {_short(pending['serving_version'])}): run `orchestrator "
                     "apply`")
    else:
        lines.append(f"pending: no, the switch serves the model (snapshot "
                     f"{_short(pending['serving_version'])})")
    lines += [f"warning: {w}" for w in pending["warnings"]]
    lines.append("history:" if result["history"] else "history: nothing applied yet")
    for entry in result["history"]:
        mark = " (serving)" if entry["serving"] else " (kept)" if entry["kept"] else ""
        lines.append(f"  {entry['at']}  {entry['action']:<8}  {entry['version'][:12]}  "
                     f"{entry['who']}{mark}")
    return lines


@click.command("status")
@json_option
def status(as_json: bool) -> None:
    """What each switch node serves, whether the model has changes not applied yet,
    and the apply history (the versions `rollback` can go back to)."""
    def work(session: Session, actor: Actor) -> dict[str, Any]:
        actor.require("read")
        return service.status(session, load_settings())

    result = run_in_session(as_json, work)
    if as_json:
        _echo_json(result)
        return
    for line in render(result):
        click.echo(line)
