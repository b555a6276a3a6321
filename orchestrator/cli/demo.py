"""`orchestrator demo`: a small model to try the switch with SIPp (getting-started.md)."""

from __future__ import annotations

import click

from orchestrator import demo as service
from orchestrator.cli.carriers import _echo_json, _fail, cli_actor, json_option
from orchestrator.cli.common import load_settings
from orchestrator.db import make_engine, session_factory
from orchestrator.errors import ServiceError


@click.command("demo")
@click.option("--carrier-port", default=5080, show_default=True,
              help="UDP port of the demo carrier's gateway on 127.0.0.1 (run a SIPp UAS "
                   "there).")
@click.option("--source-ip", default="127.0.0.1", show_default=True,
              help="Address the demo customer calls from (its IP auth entry).")
@json_option
def demo(carrier_port: int, source_ip: str, as_json: bool) -> None:
    """Create a demo carrier, provider card, customer card (built, 10 % markup),
    customer and route, unless they exist. Then `orchestrator apply` and place a
    call: docs/getting-started.md shows the SIPp commands."""
    settings = load_settings()
    engine = make_engine(settings.db_url)
    try:
        ids = service.seed(session_factory(engine), settings, cli_actor(),
                           carrier_port=carrier_port, source_ip=source_ip)
    except ServiceError as exc:
        _fail(exc, as_json)
    finally:
        engine.dispose()
    if as_json:
        _echo_json(ids)
        return
    click.echo(f"demo model ready: customer {ids['customer_id']} calls from {source_ip}, "
               f"carrier {ids['carrier_id']} answers on 127.0.0.1:{carrier_port}, "
               f"customer card {ids['customer_card_id']} prices 1, 44, 4420, 33, 49.\n"
               "Next: orchestrator apply")
