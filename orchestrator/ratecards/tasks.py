"""Background jobs of rate cards: deck import, card builds, due activations.

Loaded by the worker (``orchestrator.jobs.queue.load_task_modules``). Each job gets
its parameters from ``orchestrator.ratecards.imports``, which checked them.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.errors import ServiceError, ValidationFailed
from orchestrator.jobs.queue import JobContext, RunContext, job_task, register_periodic
from orchestrator.ratecards import card_email_bulk, exchange, imports, revisions
from orchestrator.ratecards.build_engine import CardOptions, ParentInput, build_card
from orchestrator.ratecards.deck.errors import DeckError
from orchestrator.ratecards.deck.mapping import Mapping
from orchestrator.ratecards.deck.reader import read_deck
from orchestrator.ratecards.deck.store import read_rates, write_rates
from orchestrator.ratecards.deck.validate import validate
from orchestrator.ratecards.models import CustomerCard, ProviderCard, RateRevision
from orchestrator.ratecards.rules import RuleError, RuleInput

UPLOAD_MAX_AGE_S = 24 * 3600


def _row_errors(errors: list[Any], total: int) -> ValidationFailed:
    """Deck problems as field errors: ``{"row 12, Rate": [message]}`` in file order."""
    out: dict[str, list[str]] = {}
    for error in errors:
        key = f"row {error.row}, {error.column}" if error.column else f"row {error.row}"
        out.setdefault(key, []).append(error.message)
    if total > len(errors):
        out["file"] = [f"{total} problems in all (the first {len(errors)} are listed); "
                       "nothing was imported"]
    else:
        out["file"] = [f"{total} problem{'s' if total != 1 else ''}; nothing was imported"]
    return ValidationFailed(out)


def _finish_revision(session: Session, actor: Actor, card: ProviderCard | CustomerCard,
                     revision: RateRevision, activate: bool, date_live: str | None,
                     ) -> tuple[str, str]:
    """Activate or schedule a new revision as asked; (state, note for the result)."""
    revisions.store_changes(session, revision)
    note = ""
    if activate:
        try:
            with session.begin_nested():
                revisions.activate(session, actor, card, revision.id)
        except ServiceError as exc:
            note = f"left as a draft: {exc}"
    elif date_live:
        revisions.schedule(session, actor, card, revision.id, datetime.fromisoformat(date_live))
    session.refresh(revision)
    return revision.state, note


@job_task("ratecards.import")
def import_deck(ctx: JobContext) -> dict[str, Any]:
    """Read, validate and store an uploaded deck as a new revision (all or nothing)."""
    params = ctx.params
    actor = imports.actor_from(params)
    path = imports.upload_path(params["upload"])
    started = time.perf_counter()
    try:
        if not path.exists():
            raise ValidationFailed.one("upload", "the uploaded file is gone: upload it again")
        ctx.report(2, "reading the file")
        try:
            table = read_deck(path.read_bytes(), format=params.get("format") or "auto",
                              encoding=params.get("encoding"),
                              delimiter=params.get("delimiter"), sheet=params.get("sheet"))
        except DeckError as exc:
            raise ValidationFailed.one("file", exc.message) from None
        ctx.report(25, f"checking {table.height:,} rows")
        checked = validate(table, Mapping(dict(params["mapping"]), int(params["first_row"])))
        if checked.frame is None:
            raise _row_errors(checked.errors, checked.total_errors)
        frame = checked.frame
        # The last report before the write transaction: on SQLite a progress update
        # from another connection would wait for this transaction's write lock.
        ctx.report(50, f"storing {frame.height:,} rates and comparing with the active "
                       "revision")
        with ctx.sessions.begin() as session:
            card = imports.get_card(session, actor, params["kind"], int(params["card_id"]))
            actor.require("write")
            revision = revisions.new_revision(session, card, params.get("filename", "upload"))
            write_rates(session.connection(), revision.id, frame)
            revision.row_count = frame.height
            state, note = _finish_revision(session, actor, card, revision,
                                           bool(params.get("activate")),
                                           params.get("date_live"))
            audit.record(session, actor, "import", "rate_revision", revision.id,
                         f"{frame.height} rates imported into revision {revision.number} "
                         f"of {card.name} from {params.get('filename', 'upload')}",
                         after={"rows": frame.height, "state": state})
            result = {"revision_id": revision.id, "revision_number": revision.number,
                      "rows": frame.height, "state": state, "changes": revision.changes,
                      "seconds": round(time.perf_counter() - started, 2)}
            if note:
                result["note"] = note
        return result
    finally:
        path.unlink(missing_ok=True)


def _parents(session: Session, card: CustomerCard, base: str) -> tuple[list[ParentInput],
                                                                     dict[str, int]]:
    parents, used = [], {}
    for link in card.parents:
        provider = session.get(ProviderCard, link.provider_card_id)
        assert provider is not None  # foreign key
        active = revisions.active_revision(session, provider)
        if active is None:
            raise ValidationFailed.one("parents", f"provider card {provider.name} has no "
                                       "active revision: import or activate one first")
        numerator, denominator = exchange.factor(session, provider.currency, card.currency,
                                                 base)
        parents.append(ParentInput(provider.id, read_rates(session.connection(), active.id),
                                   weight=link.weight, priority=link.priority,
                                   position=link.position, fx_numerator=numerator,
                                   fx_denominator=denominator))
        used[str(provider.id)] = active.id
    return parents, used


def _rules(card: CustomerCard) -> list[RuleInput]:
    return [RuleInput(match=r.match, type=r.type, value=r.value, mcd=r.mcd, pulse=r.pulse,
                      connect_fee=r.connect_fee, rounding=r.rounding,
                      name_override=r.name_override, status=r.status) for r in card.rules]


def build_one(ctx: RunContext, actor: Actor, card_id: int, activate: bool,
              progress: Any) -> dict[str, Any]:
    """Build one card into a new revision; returns what the job reports for it."""
    started = time.perf_counter()
    with ctx.sessions.begin() as session:
        card = session.get(CustomerCard, card_id)
        if card is None:
            raise ValidationFailed.one("card_ids", f"customer card {card_id} does not exist")
        parents, used = _parents(session, card, ctx.settings.base_currency)
        options = CardOptions(rate_compact=card.rate_compact,
                              collapse_using=card.collapse_using, collapse=card.collapse,
                              force_presentation=card.force_presentation,
                              strategy=card.strategy, precision=card.precision,
                              rounding=card.rounding)
        try:
            built = build_card(parents, _rules(card), options,
                               lambda fraction, message: progress(fraction * 0.8, message))
        except RuleError as exc:
            raise ValidationFailed({"rules": [str(exc)]}) from None
        # The last report before writing (see import_deck).
        progress(0.8, f"storing {built.frame.height:,} rates and comparing with the "
                      "active revision")
        revision = revisions.new_revision(session, card, "build")
        revision.parent_revisions = used
        write_rates(session.connection(), revision.id, built.frame)
        revision.row_count = built.frame.height
        state, note = _finish_revision(session, actor, card, revision, activate, None)
        stats = built.stats
        audit.record(session, actor, "build", "rate_revision", revision.id,
                     f"customer card {card.name} built into revision {revision.number} "
                     f"({stats.prefixes} prefixes)",
                     after={"prefixes": stats.prefixes, "state": state})
        result = {"card_id": card.id, "card": card.name, "revision_id": revision.id,
                  "revision_number": revision.number, "state": state,
                  "rows": stats.prefixes, "removed": stats.removed, "blocked": stats.blocked,
                  "unserved": stats.unserved, "collapsed": stats.collapsed,
                  "changes": revision.changes,
                  "seconds": round(time.perf_counter() - started, 2)}
        if note:
            result["note"] = note
        return result


@job_task("ratecards.build")
def build_cards(ctx: JobContext) -> dict[str, Any]:
    """Build one or more customer cards, each into its own new revision."""
    actor = imports.actor_from(ctx.params)
    actor.require("write")
    card_ids = [int(i) for i in ctx.params["card_ids"]]
    built, failed = [], []
    for n, card_id in enumerate(card_ids):
        def progress(fraction: float, message: str, n: int = n) -> None:
            prefix = f"card {n + 1} of {len(card_ids)}: " if len(card_ids) > 1 else ""
            ctx.report(100 * (n + fraction) / len(card_ids), prefix + message)
        try:
            built.append(build_one(ctx, actor, card_id, bool(ctx.params.get("activate")),
                                   progress))
        except ServiceError as exc:
            if len(card_ids) == 1:
                raise
            failed.append({"card_id": card_id, "error": str(exc)})
    if failed and not built:
        raise ValidationFailed({"card_ids": [f"{f['card_id']}: {f['error']}" for f in failed]})
    return {"built": built, "failed": failed}


@job_task("ratecards.email_bulk")
def email_bulk(ctx: JobContext) -> dict[str, Any]:
    """Email each customer the cards of its routes (``card_email_bulk``); importing
    that module also registers the ``rate_card`` attachment of the delivery job."""
    return card_email_bulk.run_bulk(ctx, imports.actor_from(ctx.params))


def activate_due_revisions(ctx: RunContext) -> None:
    with ctx.sessions.begin() as session:
        revisions.activate_due(session)


def remove_old_uploads(ctx: RunContext) -> None:
    directory = ctx.settings.var_dir / imports.UPLOAD_DIR
    if not directory.exists():
        return
    limit = time.time() - UPLOAD_MAX_AGE_S
    for path in directory.glob("*.upload"):
        if path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)


register_periodic("ratecards.activate_due", 30, activate_due_revisions)
register_periodic("ratecards.remove_old_uploads", 3600, remove_old_uploads)
