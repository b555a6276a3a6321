"""`orchestrator stack up|down|status`."""

from __future__ import annotations

import json
import sys

import click

from orchestrator.cli.common import load_settings
from orchestrator.compile.configs import ConfigError
from orchestrator.stack import health
from orchestrator.stack import stack as stack_service


@click.group()
def stack() -> None:
    """Run the local switch: rtpengine, Kamailio and the web admin."""


@stack.command()
@click.option("--detach", is_flag=True,
              help="Start in the background and return; stop with `stack down`.")
def up(detach: bool) -> None:
    """Migrate the database, render the configs and start the switch.

    In the foreground (the default) Ctrl-C stops all three processes.
    """
    settings = load_settings()
    try:
        prepared = stack_service.prepare(settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if prepared.admin_password:
        click.echo("=" * 66)
        click.echo("First run: created web admin user 'admin' with one-time password")
        click.echo(f"    {prepared.admin_password}")
        click.echo("You will be asked to choose a new password at first sign-in.")
        click.echo("=" * 66)
    click.echo("starting the switch ...")
    try:
        procs = stack_service.start(settings, click.echo)
    except stack_service.StackError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"SIP        {settings.sip_ip}:{settings.sip_port} (UDP and TCP)")
    click.echo(f"JSON-RPC   {settings.rpc_url}")
    click.echo(f"web admin  http://{settings.web_host}:{settings.web_port}/")
    click.echo(f"REST API   http://{settings.web_host}:{settings.web_port}/api/v1 "
               "(docs at /api/v1/docs)")
    if detach:
        click.echo("running in the background: `orchestrator stack down` stops it")
        return
    click.echo("switch ready; press Ctrl-C to stop")
    sys.stdout.flush()
    sys.exit(stack_service.supervise(procs, click.echo))


@stack.command()
def down() -> None:
    """Stop every process of the switch started by `stack up`."""
    stopped = stack_service.down(load_settings())
    click.echo("stopped: " + ", ".join(stopped) if stopped else "nothing was running")


@stack.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def status(as_json: bool) -> None:
    """Processes of the switch and the health of Kamailio and rtpengine.

    Exits 0 when both daemons answer, 1 otherwise.
    """
    settings = load_settings()
    pids = stack_service.status(settings)
    report = health.collect(settings)
    if as_json:
        click.echo(json.dumps({
            "pids": pids,
            "kamailio": report.kamailio.__dict__,
            "rtpengine": report.rtpengine.__dict__,
        }, indent=2))
    else:
        for name, pid in pids.items():
            click.echo(f"{name:<10} {'pid ' + str(pid) if pid else 'not running'}")
        for daemon in (report.kamailio, report.rtpengine):
            if daemon.up:
                click.echo(f"{daemon.name:<10} up, {daemon.version}, uptime "
                           f"{daemon.uptime_seconds} s, {daemon.active_calls} active calls")
            else:
                click.echo(f"{daemon.name:<10} DOWN: {daemon.error}")
    sys.exit(0 if report.all_up else 1)
