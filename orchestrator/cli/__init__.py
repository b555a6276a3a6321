"""The `orchestrator` command line: a thin layer over the service functions."""

from __future__ import annotations

import click

from orchestrator import __version__
from orchestrator.cli.bans import bans
from orchestrator.cli.billing import billing
from orchestrator.cli.billing_check import check_command as billing_check
from orchestrator.cli.calls import calls
from orchestrator.cli.card_email import email as ratecards_email
from orchestrator.cli.card_email import email_bulk as ratecards_email_bulk
from orchestrator.cli.card_email import emails as ratecards_emails
from orchestrator.cli.carriers import carriers
from orchestrator.cli.cdr_collect import collect as cdr_collect
from orchestrator.cli.cdr_collect import collector as cdr_collector
from orchestrator.cli.cdrs import cdrs
from orchestrator.cli.cdrs import stats_ as cdr_stats
from orchestrator.cli.config import config
from orchestrator.cli.customer_balance import balance as customer_balance
from orchestrator.cli.customer_balance import low_balance as customer_low_balance
from orchestrator.cli.customers import customers
from orchestrator.cli.db import db
from orchestrator.cli.demo import demo
from orchestrator.cli.explain import explain
from orchestrator.cli.jobs import jobs
from orchestrator.cli.media import media
from orchestrator.cli.messages import messages
from orchestrator.cli.nodes import nodes
from orchestrator.cli.ratecards import ratecards
from orchestrator.cli.routes import routes
from orchestrator.cli.settings import settings as delivery_settings
from orchestrator.cli.stack import stack
from orchestrator.cli.switch import apply_, rollback, status
from orchestrator.cli.users import users
from orchestrator.cli.verify import verify as customer_verify
from orchestrator.cli.web import web


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="orchestrator")
def cli() -> None:
    """Control plane of a wholesale VoIP switch (Kamailio + rtpengine).

    Settings come from ORCHESTRATOR_* environment variables and an optional TOML file
    (ORCHESTRATOR_CONFIG); see docs/configuration.md.
    """


cli.add_command(stack)
cli.add_command(web)
cli.add_command(db)
cli.add_command(config)
cli.add_command(users)
cli.add_command(carriers)
cli.add_command(customers)
cli.add_command(billing)
billing.add_command(cdr_collect)
billing.add_command(billing_check)
billing.add_command(cdr_collector)
customers.add_command(customer_balance)
customers.add_command(customer_low_balance)
customers.add_command(customer_verify)
cli.add_command(jobs)
cli.add_command(messages)
cli.add_command(delivery_settings)
cli.add_command(ratecards)
for command in (ratecards_email, ratecards_emails, ratecards_email_bulk):
    ratecards.add_command(command)
cli.add_command(routes)
cli.add_command(explain)
cli.add_command(nodes)
cli.add_command(bans)
cli.add_command(demo)
cli.add_command(media)
cli.add_command(calls)
cli.add_command(cdrs)
cli.add_command(cdr_stats)
for command in (apply_, status, rollback):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="orchestrator")
