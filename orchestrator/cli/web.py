"""`orchestrator web serve`."""

from __future__ import annotations

import click

from orchestrator.cli.common import load_settings


@click.group()
def web() -> None:
    """The web admin."""


@web.command()
def serve() -> None:
    """Serve the web admin on web_host:web_port (waitress) until stopped."""
    from webui.serve import serve as run

    run(load_settings())
