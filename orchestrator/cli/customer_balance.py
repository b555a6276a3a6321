"""`orchestrator customers balance ID [--from --to]` and `customers low-balance ID AMOUNT`:
the balance statement and the low-balance alert threshold (orchestrator/billing)."""

from __future__ import annotations

from typing import Any

import click

from orchestrator.billing import statement as statements
from orchestrator.cli.customers import _emit, _find, _session, _table, cli_actor
from orchestrator.customers import service

DAY_COLUMNS = ("day", "attempts", "calls", "charges", "tax", "payments", "balance")


def _text(data: dict[str, Any]) -> str:
    st = data["statement"]
    cur = data["currency"]
    lines = [f"balance {data['balance']} {cur}, debit limit {data['debit_limit']} {cur}, "
             f"credit available {data['credit_available']} {cur}",
             f"statement {st['from']} .. {st['to']} (tax {st['tax_percent']} %)",
             f"  opening balance  {st['opening_balance']}",
             f"  payments        +{st['payments']}",
             f"  charges         -{st['charges']}",
             f"  tax             -{st['tax']}",
             f"  closing balance  {st['closing_balance']}"]
    if st["days"]:
        lines += ["", _table(st["days"], DAY_COLUMNS)]
    if st["pending_payments"]:
        lines += ["", "pending payments (not counted):"]
        lines += [f"  {p['created_at'][:10]}  {p['amount']}  {p['description']}"
                  for p in st["pending_payments"]]
    return "\n".join(lines)


@click.command("balance")
@click.argument("customer")
@click.option("--from", "start", default=None, metavar="YYYY-MM-DD",
              help="First day (UTC); default: the first of the month.")
@click.option("--to", "end", default=None, metavar="YYYY-MM-DD",
              help="Last day, included; default: today.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def balance(customer: str, start: str | None, end: str | None, as_json: bool) -> None:
    """Balance, credit available and the statement of CUSTOMER (id or name)."""
    actor = cli_actor()
    with _session() as session:
        found = _find(session, actor, customer)
        data = statements.statement(session, actor, found.id, start, end).to_dict()
    _emit(data, as_json, lambda: _text(data))


@click.command("low-balance")
@click.argument("customer")
@click.argument("threshold")
def low_balance(customer: str, threshold: str) -> None:
    """Email CUSTOMER once when its balance falls below THRESHOLD ('none': never)."""
    actor = cli_actor()
    value = "" if threshold.strip().lower() in ("none", "off", "") else threshold
    with _session() as session:
        found = _find(session, actor, customer)
        updated = service.update_customer(session, actor, found.id,
                                          {"low_balance_threshold": value})
        shown = service.customer_to_dict(updated)["low_balance_threshold"] or "none"
    click.echo(f"customer {found.id}: low-balance alert threshold {shown}")
