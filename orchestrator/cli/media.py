"""`orchestrator media dtmf-collector` (a process of the stack) and
`orchestrator calls dtmf CALL_ID`."""

from __future__ import annotations

import json
import logging
import signal
import threading
from types import FrameType

import click
from sqlalchemy.exc import OperationalError

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


@click.group()
def calls() -> None:
    """Calls seen by the switch."""


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
