"""`orchestrator billing check [--fix]`: running charge totals against the rated CDRs."""

from __future__ import annotations

import json

import click

from orchestrator.billing import balances
from orchestrator.cli.customers import _session


@click.command("check")
@click.option("--fix", is_flag=True, help="Set each differing total to the CDRs' sum.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def check_command(fix: bool, as_json: bool) -> None:
    """Recompute every customer's charges from its rated CDRs and compare with the
    running totals; exit 1 when they differ (unless --fix repaired them)."""
    with _session() as session:
        mismatches = balances.check(session)
        fixed = balances.fix(session, mismatches) if fix else 0
    if as_json:
        click.echo(json.dumps({"mismatches": [m.to_dict() for m in mismatches],
                               "fixed": fixed}, indent=2))
    elif not mismatches:
        click.echo("ok: every running total matches its rated CDRs")
    else:
        for m in mismatches:
            d = m.to_dict()
            click.echo(f"customer {m.customer_id}: total {d['total']}, rated CDRs "
                       f"{d['computed']}, difference {d['difference']}")
        click.echo(f"fixed {fixed} total(s)" if fix else
                   f"{len(mismatches)} total(s) differ; run with --fix to repair")
    if mismatches and not fix:
        raise SystemExit(1)
