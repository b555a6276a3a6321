"""Background jobs of the switch: apply the model, roll back to a kept snapshot.

Loaded by the worker (``orchestrator.jobs.queue.load_task_modules``); queued by
``orchestrator.switch.service``, which checked the model (apply) or the target
(rollback) first. A node that fails keeps serving its previous snapshot: the job ends
``failed`` and its message names the node, the error and what still serves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.compile.compiler import compile_snapshot
from orchestrator.compile.snapshot import Snapshot
from orchestrator.compile.tariffs import tariff_rows
from orchestrator.errors import ServiceError
from orchestrator.jobs.queue import JobContext, job_task
from orchestrator.ratecards.imports import actor_from
from orchestrator.switch import apply, service, store
from orchestrator.switch.apply import ApplyReport
from orchestrator.switch.tablefile import TariffSource

COMPILED = 10  # percent of the job spent before the nodes are written
DONE = {"apply": "applied", "rollback": "rolled back"}


class SwitchNotApplied(ServiceError):
    """A node did not take the snapshot; it (and every node) still serves the old one."""


def _tariffs(session: Session, ctx: JobContext) -> TariffSource:
    base = ctx.settings.base_currency
    return lambda ref: tariff_rows(session, ref, base)


def _progress(ctx: JobContext) -> Callable[[int, str], None]:
    return lambda percent, message: ctx.report(COMPILED + percent * (100 - COMPILED) / 100,
                                               message)


def _node_results(report: ApplyReport) -> list[dict[str, Any]]:
    return [{"node": n.node, "ok": n.ok, "generation": n.generation, "previous": n.previous,
             "flip_only": n.flip_only, "error": n.error,
             "timings": {k: round(v, 3) for k, v in n.timings.items()}}
            for n in report.nodes]


def _refresh_credit(ctx: JobContext, snap: Snapshot, report: ApplyReport) -> None:
    """Balances move between the compile and the flip (payments, rated calls), and a
    rollback serves old values: set the credit of every customer of the snapshot as it
    is now (only values that differ are sent)."""
    if not report.ok or not snap.customers:
        return
    from orchestrator.billing.credit import push_credit

    with ctx.sessions() as session:
        push_credit(session, ctx.settings, [c.id for c in snap.customers])


def _finish(ctx: JobContext, actor: Actor, action: str, snap: Snapshot,
            report: ApplyReport) -> dict[str, Any]:
    """Audit the outcome (action ``apply``/``rollback``, ``..._failed``); the job's
    result, or SwitchNotApplied naming the failed nodes and what still serves."""
    short, done = snap.version[:12], DONE[action]
    nodes = _node_results(report)
    if report.ok:
        summary = f"snapshot {short} {done} on {', '.join(n['node'] for n in nodes)}"
    else:
        serving = store.current_version(ctx.settings)
        still = (f"the previous snapshot {serving[:12]} is still serving" if serving
                 else "nothing was serving before and nothing serves now")
        failed = "; ".join(f"{n['node']}: {n['error']}" for n in nodes if not n["ok"])
        summary = f"snapshot {short} not {done} on {failed}; {still}"
    with ctx.sessions.begin() as session:
        audit.record(session, actor, action if report.ok else f"{action}_failed",
                     "switch", None, summary,
                     after={"version": snap.version, "nodes": nodes})
    if not report.ok:
        raise SwitchNotApplied(summary)
    return {"version": snap.version, "nodes": nodes, "warnings": list(snap.warnings)}


@job_task(service.APPLY_KIND)
def apply_job(ctx: JobContext) -> dict[str, Any]:
    """Compile the model and apply it to every node (write, reload, verify, flip)."""
    actor = actor_from(ctx.params)
    ctx.report(1, "compiling the model")
    with ctx.sessions() as session:
        snap = compile_snapshot(session, ctx.settings)
        ctx.report(COMPILED, f"applying snapshot {snap.version[:12]}")
        report = apply.apply_local(ctx.settings, snap, _tariffs(session, ctx),
                                   who=actor.username,
                                   nodes=service.nodes(session, ctx.settings),
                                   progress=_progress(ctx))
    _refresh_credit(ctx, snap, report)
    return _finish(ctx, actor, "apply", snap, report)


@job_task(service.ROLLBACK_KIND)
def rollback_job(ctx: JobContext) -> dict[str, Any]:
    """Serve a kept snapshot again: a flip where the other generation holds it, else an
    apply of the kept snapshot."""
    actor = actor_from(ctx.params)
    ctx.report(1, "loading the kept snapshot")
    target = service.rollback_target(ctx.settings, str(ctx.params["version"]))
    ctx.report(COMPILED, f"rolling back to snapshot {target.version[:12]}")
    with ctx.sessions() as session:
        report = apply.rollback(service.nodes(session, ctx.settings), target,
                                _tariffs(session, ctx),
                                progress=_progress(ctx))
    if report.ok:
        store.record(ctx.settings, target, who=actor.username, action="rollback")
    _refresh_credit(ctx, target, report)
    return _finish(ctx, actor, "rollback", target, report)
