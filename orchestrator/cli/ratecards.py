"""`orchestrator ratecards list|show|import|export|build`: thin over the rate-card services.

Imports and builds are background jobs. With the stack's job worker running they
are queued to it; without one, this command runs the job itself (in-process worker
threads) and draws the same progress bar.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from orchestrator.actor import Actor
from orchestrator.cli.carriers import _fail, cli_actor
from orchestrator.cli.common import load_settings
from orchestrator.cli.jobs import follow_job
from orchestrator.errors import ServiceError
from orchestrator.jobs import queue as jobqueue
from orchestrator.jobs.models import Job
from orchestrator.jobs.queue import JobQueue
from orchestrator.jobs.worker import HEARTBEAT_SECONDS, heartbeat_path
from orchestrator.listing import ListQuery
from orchestrator.ratecards import customer_cards, imports, provider_cards, revisions
from orchestrator.ratecards.models import CustomerCard, ProviderCard

KIND = click.option("--kind", type=click.Choice(imports.KINDS), default="provider",
                    show_default=True, help="provider card (a carrier's deck) or "
                    "customer card")
AS_JSON = click.option("--json", "as_json", is_flag=True, help="machine-readable output")


@contextmanager
def _queue() -> Iterator[JobQueue]:
    settings = load_settings()
    queue = jobqueue.configure(settings)
    jobqueue.load_task_modules()
    try:
        yield queue
    finally:
        jobqueue.reset()


def worker_alive(queue: JobQueue) -> bool:
    beat = heartbeat_path(queue.settings)
    return beat.exists() and time.time() - beat.stat().st_mtime < 3 * HEARTBEAT_SECONDS


def _card_id(queue: JobQueue, kind: str, ref: str) -> int:
    """A card named by id or by name."""
    if ref.isdigit():
        return int(ref)
    model = ProviderCard if kind == "provider" else CustomerCard
    with queue.sessions() as session:
        found = session.scalar(select(model.id).where(model.name == ref))
    if found is None:
        raise click.ClickException(f"no {kind} card named {ref!r}")
    return int(found)


def _run(queue: JobQueue, job: Job, as_json: bool) -> None:
    """Follow ``job`` to its end, running it here when no worker is up."""
    consumer = None
    if not worker_alive(queue):
        click.echo("no job worker is running: running the job in this process", err=True)
        consumer = queue.huey.create_consumer(workers=1, worker_type="thread",
                                              periodic=False, max_delay=0.1)
        consumer.start()
    try:
        if as_json:
            from orchestrator.jobs import service
            final = service.wait_for(queue.sessions, job.id, None)
            click.echo(json.dumps(service.job_to_dict(final), indent=2, default=str))
            if final.state != "done":
                raise click.exceptions.Exit(1)
        else:
            follow_job(job, queue.sessions)
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)


def _enqueue(queue: JobQueue, start: Any, as_json: bool) -> Job:
    try:
        with queue.sessions.begin() as session:
            job: Job = start(session)
        return job
    except ServiceError as exc:
        _fail(exc, as_json)


def _parse_map(pairs: tuple[str, ...]) -> dict[str, int | str]:
    mapping: dict[str, int | str] = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise click.BadParameter(f"{pair!r}: write FIELD=COLUMN, e.g. prefix='Dial Code' "
                                     "or rate=2", param_hint="--map")
        column = column.strip()
        mapping[field.strip()] = int(column[1:]) if column.startswith("#") and \
            column[1:].isdigit() else column
    return mapping


@click.group()
def ratecards() -> None:
    """Rate cards: provider decks, customer cards, imports, exports and builds.

    Cards are named by id or name. See docs/ratecards.md.
    """


@ratecards.command("list")
@KIND
@click.option("-q", "query", default="", help="search names")
@AS_JSON
def list_cards(kind: str, query: str, as_json: bool) -> None:
    """List provider or customer cards with their active revision."""
    actor = cli_actor()
    with _queue() as queue, queue.sessions() as session:
        lister = (provider_cards.list_provider_cards if kind == "provider"
                  else customer_cards.list_customer_cards)
        page = lister(session, actor, ListQuery(q=query, per_page=500))
        rows = []
        for card in page.items:
            live = revisions.active_revision(session, card)
            rows.append({"id": card.id, "name": card.name, "currency": card.currency,
                         "active_revision": live.number if live else None,
                         "rows": live.row_count if live else 0})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"no {kind} cards")
    for row in rows:
        active = f"r{row['active_revision']} ({row['rows']} rates)" if row[
            "active_revision"] else "no active revision"
        click.echo(f"{row['id']:>5}  {row['name']:<30} {row['currency']}  {active}")


@ratecards.command()
@click.argument("card")
@KIND
@AS_JSON
def show(card: str, kind: str, as_json: bool) -> None:
    """Show a card and its revisions."""
    actor = cli_actor()
    with _queue() as queue, queue.sessions() as session:
        try:
            found = imports.get_card(session, actor, kind, _card_id(queue, kind, card))
            revs = [revisions.revision_to_dict(r)
                    for r in revisions.list_revisions(session, actor, found)]
        except ServiceError as exc:
            _fail(exc, as_json)
        info = {"id": found.id, "name": found.name, "currency": found.currency,
                "revisions": revs}
    if as_json:
        click.echo(json.dumps(info, indent=2, default=str))
        return
    click.echo(f"{kind} card {info['id']}: {info['name']} ({info['currency']})")
    for rev in revs:
        click.echo(f"  r{rev['number']:<4} {rev['state']:<9} {rev['row_count']:>9} rates  "
                   f"{rev.get('source', '')}  changes {rev.get('changes') or '-'}")


@ratecards.command("import")
@click.argument("card")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@KIND
@click.option("--map", "pairs", multiple=True, metavar="FIELD=COLUMN",
              help="column of a field: header text, or #N for the 0-based index; fields "
              "prefix, name, rate, inter, intra, mcd, pulse, connect_fee, status, billing "
              "(one '30/6' column). Default: guessed from the header.")
@click.option("--first-row", type=int, help="1-based row of the first rate (default: "
              "guessed, usually 2)")
@click.option("--activate", is_flag=True, help="make the new revision active")
@click.option("--date-live", type=click.DateTime(["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]),
              help="activate at this UTC time instead")
@click.option("--format", "fmt", type=click.Choice(imports.FORMATS), default="auto")
@click.option("--encoding", help="override the detected encoding")
@click.option("--delimiter", help="override the detected delimiter (\\t for tab)")
@click.option("--no-wait", is_flag=True, help="queue the job and print its id")
@AS_JSON
def import_deck(card: str, file: Path, kind: str, pairs: tuple[str, ...],
                first_row: int | None, activate: bool, date_live: Any, fmt: str,
                encoding: str | None, delimiter: str | None, no_wait: bool,
                as_json: bool) -> None:
    """Import a deck FILE (CSV, XLSX, Open Rate Card JSON) into a new revision of CARD.

    Every problem is listed by row and column, and then nothing is imported.
    """
    actor: Actor = cli_actor()
    content = file.read_bytes()
    options = {"format": fmt, "encoding": encoding, "delimiter": delimiter}
    with _queue() as queue:
        card_id = _card_id(queue, kind, card)
        mapping: dict[str, int | str] = _parse_map(pairs)
        if not mapping or first_row is None:
            try:
                guess = imports.preview(content, rows=5, **options)
            except ServiceError as exc:
                _fail(exc, as_json)
            mapping = mapping or guess["mapping"]
            first_row = first_row or guess["first_row"]
            if not as_json:
                click.echo(f"mapping: {json.dumps(mapping)}; first row {first_row}", err=True)
        job = _enqueue(queue, lambda session: imports.start_import(
            session, actor, kind=kind, card_id=card_id, content=content, filename=file.name,
            mapping=mapping, first_row=first_row, activate=activate,
            date_live=date_live, **options), as_json)
        if no_wait:
            click.echo(json.dumps({"job": job.id}) if as_json else f"queued job {job.id}")
            return
        _run(queue, job, as_json)


@ratecards.command()
@click.argument("card")
@KIND
@click.option("--revision", type=int, help="revision number (default: the active one)")
@click.option("--format", "fmt", type=click.Choice(tuple(imports.EXPORT_FORMATS)),
              default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="file to write (default: the suggested name in this directory)")
def export(card: str, kind: str, revision: int | None, fmt: str,
           output: Path | None) -> None:
    """Export a revision of CARD as CSV, XLSX or Open Rate Card JSON."""
    actor = cli_actor()
    with _queue() as queue, queue.sessions() as session:
        try:
            found = imports.get_card(session, actor, kind, _card_id(queue, kind, card))
            revision_id = None
            if revision is not None:
                matches = [r.id for r in revisions.list_revisions(session, actor, found)
                           if r.number == revision]
                if not matches:
                    raise click.ClickException(f"{found.name} has no revision {revision}")
                revision_id = matches[0]
            content, filename, _ = imports.export_revision(
                session, actor, kind=kind, card_id=found.id, revision_id=revision_id,
                format=fmt)
        except ServiceError as exc:
            _fail(exc, False)
    target = output or Path(filename)
    target.write_bytes(content)
    click.echo(f"wrote {target} ({len(content):,} bytes)")


@ratecards.command()
@click.argument("cards", nargs=-1)
@click.option("--stale", is_flag=True, help="build every stale customer card")
@click.option("--activate", is_flag=True, help="make each built revision active "
              "(subject to the notice period)")
@click.option("--no-wait", is_flag=True, help="queue the job and print its id")
@AS_JSON
def build(cards: tuple[str, ...], stale: bool, activate: bool, no_wait: bool,
          as_json: bool) -> None:
    """Build customer CARDS (or every --stale one) from their parents' active revisions."""
    if bool(cards) == stale:
        raise click.UsageError("name the cards to build, or give --stale")
    actor = cli_actor()
    with _queue() as queue:
        ids = [_card_id(queue, "customer", c) for c in cards]
        job = _enqueue(queue, lambda session: imports.start_bulk_build(
            session, actor, ids or None, activate=activate), as_json)
        if no_wait:
            click.echo(json.dumps({"job": job.id}) if as_json else f"queued job {job.id}")
            return
        _run(queue, job, as_json)


@ratecards.group("npa-table")
def npa_table() -> None:
    """The US NPA(-NXX) -> state table used to pick inter/intra/indeterminate rates.

    Shipped derived from the phonenumbers package; an uploaded table replaces it.
    """


@npa_table.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="file to write (default: standard output)")
def npa_export(output: Path | None) -> None:
    """Write the table in use as CSV (prefix,country,region)."""
    from orchestrator.ratecards import jurisdiction

    settings = load_settings()
    uploaded = settings.var_dir / jurisdiction.TABLE_FILE
    text = (uploaded.read_text(encoding="utf-8") if uploaded.exists()
            else jurisdiction.table_to_csv(jurisdiction.derive_table()))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output} ({text.count(chr(10)) - 1} rows)")


@npa_table.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def npa_import(file: Path) -> None:
    """Replace the table with FILE (CSV prefix,country,region; all rows or none)."""
    from orchestrator.ratecards import jurisdiction

    try:
        count = jurisdiction.save_upload(load_settings().var_dir,
                                         file.read_text(encoding="utf-8-sig"))
    except ServiceError as exc:
        _fail(exc, False)
    click.echo(f"imported {count} rows")


@npa_table.command("lookup")
@click.argument("numbers", nargs=-1, required=True)
def npa_lookup(numbers: tuple[str, ...]) -> None:
    """Show the state of each NUMBER, and the jurisdiction between the first and others."""
    from orchestrator.ratecards import jurisdiction

    table = jurisdiction.load(load_settings().var_dir)
    for number in numbers:
        region = table.region(number)
        click.echo(f"{number}: {f'{region.country} {region.region}' if region else 'unknown'}")
    for callee in numbers[1:]:
        click.echo(f"{numbers[0]} -> {callee}: {table.classify(numbers[0], callee)}")
