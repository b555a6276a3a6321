"""`orchestrator media dtmf-collector` (a process of the stack); `orchestrator calls
dtmf CALL_ID` lives in orchestrator/cli/calls.py."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import click

from orchestrator.cli.common import load_settings
from orchestrator.db import make_engine, session_factory


@click.group()
def media() -> None:
    """Media-plane collectors (what rtpengine reports about calls)."""


@media.command("dtmf-collector")
@click.option("--flush-seconds", type=click.FloatRange(0.05, 60), default=1.0,
              show_default=True, help="Write the counts at least this often.")
def dtmf_collector(flush_seconds: float) -> None:
    """Count rtpengine's DTMF events per call into the database until SIGTERM/Ctrl-C."""
    from orchestrator.media.dtmf import DtmfCollector
    from orchestrator.media.service import database_sink

    settings = load_settings()
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = make_engine(settings.db_url)
    collector = DtmfCollector("127.0.0.1", settings.dtmf_port,
                              database_sink(session_factory(engine)), flush_seconds)
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _on_signal)
    try:
        collector.bind()
    except OSError as exc:
        engine.dispose()
        raise click.ClickException(f"cannot listen on udp 127.0.0.1:{settings.dtmf_port} "
                                   f"(dtmf_port): {exc}") from exc
    click.echo(f"DTMF collector on udp 127.0.0.1:{settings.dtmf_port}, "
               f"database {engine.url.render_as_string(hide_password=True)}")
    try:
        collector.run(stop)
    finally:
        engine.dispose()
        s = collector.stats
        click.echo(f"DTMF collector stopped: {s.datagrams} datagram(s), {s.events} "
                   f"event(s), {s.bad} bad, {s.ignored} ignored, {s.flush_errors} "
                   "failed write(s)")
