"""`orchestrator config render|show`."""

from __future__ import annotations

import json

import click

from orchestrator.cli.common import load_settings
from orchestrator.compile.configs import ConfigError, write_configs


@click.group()
def config() -> None:
    """Settings and the rendered data plane configs."""


@config.command()
@click.option("--no-check", is_flag=True, help="Skip `kamailio -c` on the rendered file.")
def render(no_check: bool) -> None:
    """Render kamailio.cfg and rtpengine.conf into var/etc (checked with kamailio -c)."""
    try:
        out = write_configs(load_settings(), check=not no_check)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{out.kamailio_cfg}\n{out.rtpengine_conf}")


@config.command()
def show() -> None:
    """Print the effective settings as JSON (secret_key masked)."""
    data = load_settings().model_dump(mode="json")
    if data.get("secret_key"):
        data["secret_key"] = "********"
    click.echo(json.dumps(data, indent=2))
