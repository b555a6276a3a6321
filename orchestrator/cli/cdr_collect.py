"""`orchestrator billing collect` (one pass) and `orchestrator billing collector` (the
stack's process): the switch's CDR files into the database (orchestrator/billing/
collector.py)."""

from __future__ import annotations

import json
import logging
import signal
import threading
from types import FrameType

import click

from orchestrator.cli.common import load_settings
from orchestrator.db import make_engine, session_factory


@click.command("collect")
@click.option("--no-rating", is_flag=True, help="Only insert the CDRs; rate them later.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def collect(no_rating: bool, as_json: bool) -> None:
    """Read the switch's new CDR lines into the database once, then rate them.

    Safe to run at any time, also while `orchestrator billing collector` runs: every
    line is inserted exactly once (read offsets are committed with the CDRs)."""
    from orchestrator.billing.collector_setup import build_collector

    settings = load_settings()
    engine = make_engine(settings.db_url)
    try:
        result = build_collector(settings, session_factory(engine),
                                 rate=not no_rating).collect_once()
    finally:
        engine.dispose()
    counts = {"lines": result.lines, "inserted": result.inserted, "bad": result.bad,
              "files": result.files, "rotated": len(result.rotated),
              "retired": len(result.retired)}
    if as_json:
        click.echo(json.dumps(counts))
        return
    click.echo(f"{result.lines} CDR line(s) read from {result.files} file(s): "
               f"{result.inserted} new, {result.lines - result.inserted} already there, "
               f"{result.bad} bad (kept in {settings.cdr_dir / 'bad.log'})")


@click.command("collector")
@click.option("--interval", type=click.FloatRange(0.1, 3600), default=None,
              help="Seconds between passes (default: the cdr_collect_seconds setting).")
def collector(interval: float | None) -> None:
    """Collect and rate CDRs every few seconds until SIGTERM/Ctrl-C (a stack process)."""
    from orchestrator.billing.collector_setup import build_collector, heartbeat_path

    settings = load_settings()
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = make_engine(settings.db_url)
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _on_signal)
    every = interval if interval is not None else settings.cdr_collect_seconds
    beat = heartbeat_path(settings)
    beat.parent.mkdir(parents=True, exist_ok=True)
    collector_ = build_collector(settings, session_factory(engine))
    click.echo(f"CDR collector: {settings.cdr_dir} every {every:g} s, database "
               f"{engine.url.render_as_string(hide_password=True)}")
    try:
        collector_.run(every, stop.is_set, on_pass=beat.touch)
    finally:
        engine.dispose()
        click.echo("CDR collector stopped")
