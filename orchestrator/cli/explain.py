"""`orchestrator explain`: what the switch does with a call, over the applied snapshot."""

from __future__ import annotations

from typing import Any

import click

from orchestrator.cli.carriers import _echo_json, _fail, json_option
from orchestrator.cli.common import load_settings
from orchestrator.errors import ServiceError
from orchestrator.routing.explain import explain_current

_COLUMNS = ("provider_card_id", "carrier_id", "prefix", "cost", "weight", "dropped")
_HEADINGS = ("card", "carrier", "prefix", "cost", "weight", "dropped")


def _text(value: Any) -> str:
    return "-" if value is None else str(value)


def render(result: dict[str, Any]) -> list[str]:
    """The explanation as readable lines."""
    def named(ident: Any, name: Any) -> str:
        return f"{ident} ({name})" if ident is not None and name else _text(ident)

    lines = [f"verdict     {result['verdict']}",
             f"customer    {named(result['customer_id'], result['customer_name'])}",
             f"route       {named(result['route_id'], result['route_name'])}",
             f"number      {_text(result['number'])}"]
    if result["tariff_prefix"] is not None:
        lines.append(f"tariff      prefix {result['tariff_prefix']}, sells "
                     f"{result['sell_rate']} {result['currency'] or ''}/min".rstrip())
    if result["media"] is not None:
        lines.append(f"media       {result['media']['zone']} ({result['media']['mode']})")
    if result["candidates"]:
        rows = [list(_HEADINGS)] + [[_text(c[k]) for k in _COLUMNS]
                                    for c in result["candidates"]]
        widths = [max(len(r[i]) for r in rows) for i in range(len(_COLUMNS))]
        lines.append("candidates:")
        lines += ["  " + "  ".join(cell.ljust(w) for cell, w in
                                   zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.append(f"order       {', '.join(map(str, result['order'])) or '-'}")
    lines.append("notes:")
    lines += [f"  - {note}" for note in result["notes"]]
    lines.append(f"snapshot    {result['snapshot_version']}")
    return lines


@click.command()
@click.option("--source-ip", required=True, help="Source address of the call.")
@click.option("--dialled", required=True, help="Dialled number as sent (tech prefix "
              "included; a leading + is allowed).")
@click.option("--source-port", type=int, help="Source port; default 5060.")
@click.option("--username", help="The call authenticates as this SIP user (used when "
              "the source matches no IP auth entry).")
@click.option("--caller", help="Caller number (does not change the routing).")
@json_option
def explain(source_ip: str, dialled: str, source_port: int | None, username: str | None,
            caller: str | None, as_json: bool) -> None:
    """Explain what the switch does with a call, and why (over the applied snapshot)."""
    try:
        result = explain_current(load_settings(), source_ip=source_ip, dialled=dialled,
                                 source_port=source_port, username=username, caller=caller)
    except ServiceError as exc:
        _fail(exc, as_json)
    if as_json:
        _echo_json(result)
        return
    for line in render(result):
        click.echo(line)
