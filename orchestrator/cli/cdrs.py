"""`orchestrator cdrs search|show|export` and `orchestrator stats`: thin over
orchestrator/billing/search.py, cdr_export.py and stats.py."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import click

from orchestrator.billing import cdr_export, search, stats
from orchestrator.cli.common import load_settings
from orchestrator.cli.customers import _emit, _session, _table, cli_actor
from orchestrator.ratecards.money import format_units

SEARCH_COLUMNS = ("id", "start_at", "customer", "carrier", "caller", "dialled", "code",
                  "duration", "sell_charge")
STATS_COLUMNS = ("label", "attempts", "answered", "asr", "acd", "pdd", "minutes",
                 "revenue", "cost", "profit")


def _filter_options(command: Any) -> Any:
    options = [
        click.option("--from", "from_", default="", help="Start time from (inclusive), ISO "
                     "8601, UTC unless an offset is given; default: --to minus 24 h."),
        click.option("--to", default="", help="Start time before (exclusive); default: now."),
        click.option("--customer", "customer_id", default="", help="Customer id."),
        click.option("--carrier", "carrier_id", default="", help="Carrier id."),
        click.option("--dialled", default="", help="Start of the dialled number."),
        click.option("--caller", default="", help="Start of the caller number."),
        click.option("--result", default="", help="answered, failed or a SIP code (486)."),
        click.option("--call-id", "call_id", default="", help="Exact Call-ID."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _raw(values: dict[str, Any]) -> dict[str, Any]:
    raw = {k: values.get(k, "") for k in search.FILTER_KEYS if k != "from"}
    raw["from"] = values.get("from_", "")
    return raw


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready: times in ISO 8601 UTC, money as decimal strings."""
    return {k: search.iso(v) if isinstance(v, datetime) else
            format_units(v) if k in cdr_export.MONEY_COLUMNS and v is not None else v
            for k, v in item.items()}


@click.group()
def cdrs() -> None:
    """Call detail records: search, show, export (see docs/cdrs.md)."""


@cdrs.command("search")
@_filter_options
@click.option("--limit", default=search.DEFAULT_LIMIT, show_default=True,
              help=f"Rows per page (at most {search.MAX_LIMIT}).")
@click.option("--cursor", default=None, help="next_cursor/prev_cursor of an earlier page.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def search_(limit: int, cursor: str | None, as_json: bool, **values: Any) -> None:
    """CDRs newest first, one page (keyset: follow the printed cursor)."""
    with _session() as session:
        flt = search.parse_filter(_raw(values))
        page = search.search(session, cli_actor(), flt, cursor=cursor, limit=limit)
        items = [row.as_dict() for row in page.items]
    data = {"items": [_plain(i) for i in items], "next_cursor": page.next_cursor,
            "prev_cursor": page.prev_cursor}

    def text() -> str:
        rows = [{"id": i["id"], "start_at": search.iso(i["start_at"]),
                 "customer": i["customer_name"] or "", "carrier": i["carrier_name"] or "",
                 "caller": i["caller"], "dialled": i["dialled"], "code": i["code"],
                 "duration": f"{i['duration_ms'] / 1000:.1f}",
                 "sell_charge": f"{format_units(i['sell_charge'])} {i['sell_currency']}"}
                for i in items]
        lines = [_table(rows, SEARCH_COLUMNS) if rows else "no CDRs match"]
        if page.next_cursor:
            lines.append(f"next page: --cursor {page.next_cursor}")
        return "\n".join(lines)
    _emit(data, as_json, text)


@cdrs.command("show")
@click.argument("cdr_id", type=click.IntRange(1, 2**63 - 1))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show(cdr_id: int, as_json: bool) -> None:
    """Every field of one CDR."""
    with _session() as session:
        data = search.get_cdr(session, cli_actor(), cdr_id).as_dict()
    shown = _plain(data)
    _emit(shown, as_json, lambda: "\n".join(f"{k:26} {'' if v is None else v}"
                                            for k, v in shown.items()))


@cdrs.command("export")
@_filter_options
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-",
              help="File to write (default: standard output).")
def export(output: Any, **values: Any) -> None:
    """CSV of every CDR of the filters, oldest first, streamed."""
    rows = 0
    with _session() as session:
        flt = search.parse_filter(_raw(values))
        for chunk in cdr_export.export_csv(session, cli_actor(), flt):
            output.write(chunk)
            rows += chunk.count("\n")
    output.flush()
    if output is not sys.stdout:
        click.echo(f"{max(rows - 1, 0)} CDRs written", err=True)


@click.command("stats")
@click.option("--from", "from_", default="", help="Start time from (inclusive), ISO 8601; "
              "default: --to minus 24 h.")
@click.option("--to", default="", help="Start time before (exclusive); default: now.")
@click.option("--by", "group_by", default="customer", show_default=True,
              help=f"Grouping: {', '.join(stats.GROUPS)}.")
@click.option("--customer", "customer_id", default="", help="Only this customer (id).")
@click.option("--carrier", "carrier_id", default="", help="Only this carrier (id).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def stats_(from_: str, to: str, group_by: str, customer_id: str, carrier_id: str,
           as_json: bool) -> None:
    """Attempts, ASR, ACD, PDD, minutes, revenue, cost, profit per group (see
    docs/cdrs.md); money in the base currency."""
    base = load_settings().base_currency
    with _session() as session:
        query = stats.parse_query({"from": from_, "to": to, "group_by": group_by,
                                   "customer_id": customer_id, "carrier_id": carrier_id})
        data = stats.statistics(session, cli_actor(), query, base).as_dict()

    def text() -> str:
        rows = [*data["rows"], data["total"]]
        lines = [f"{data['from']} - {data['to']}, by {data['group_by']}, money in "
                 f"{data['currency']}", _table(rows, STATS_COLUMNS)]
        for currency, sums in data["unconverted"].items():
            lines.append(f"not converted (no exchange rate for {currency}): revenue "
                         f"{sums['revenue']}, cost {sums['cost']}")
        return "\n".join(lines)
    click.echo(json.dumps(data, indent=2) if as_json else text())
