"""`orchestrator nodes list|add|remove`: the switch nodes an apply goes to."""

from __future__ import annotations

from pathlib import Path

import click

from orchestrator.cli.carriers import _echo_json, _run, json_option
from orchestrator.cli.common import load_settings
from orchestrator.switch import inventory
from orchestrator.switch.nodes import local_node


@click.group()
def nodes() -> None:
    """Switch nodes: `apply` writes every enabled node's table file and reloads its
    Kamailio. The local node (the one `make run` starts) is always first; add the
    others here. A node that fails an apply keeps serving its previous snapshot."""


@nodes.command("list")
@json_option
def list_(as_json: bool) -> None:
    """The local node, then the inventory."""
    settings = load_settings()
    local = local_node(settings)
    rows = [{"id": None, "name": local.name, "rpc_url": local.rpc_url,
             "table_file": str(local.table_file), "enabled": True}]
    rows += _run(as_json, lambda session, actor: [
        inventory.node_to_dict(r) for r in inventory.list_nodes(session, actor)])
    if as_json:
        _echo_json(rows)
        return
    for row in rows:
        state = "" if row["enabled"] else "  (disabled)"
        click.echo(f"{row['id'] or '-':>4}  {row['name']:<20} {row['rpc_url']:<36} "
                   f"{row['table_file']}{state}")


@nodes.command("add")
@click.argument("name")
@click.option("--rpc-url", required=True,
              help="Kamailio's JSON-RPC URL, e.g. http://10.0.0.5:5071/RPC.")
@click.option("--table-file", required=True, type=click.Path(path_type=Path),
              help="The node's switch table file (…/kamailio.db) as this machine reaches "
                   "it (a local or mounted path).")
@click.option("--disabled", is_flag=True, help="Keep it out of applies for now.")
@json_option
def add(name: str, rpc_url: str, table_file: Path, disabled: bool, as_json: bool) -> None:
    """Add node NAME; the next `orchestrator apply` writes and loads it."""
    row = _run(as_json, lambda session, actor: inventory.node_to_dict(inventory.add_node(
        session, actor, {"name": name, "rpc_url": rpc_url, "table_file": str(table_file),
                         "enabled": not disabled})))
    if as_json:
        _echo_json(row)
    else:
        click.echo(f"node {row['name']} added (id {row['id']}); run `orchestrator apply`")


@nodes.command("remove")
@click.argument("node_id", type=int)
@json_option
def remove(node_id: int, as_json: bool) -> None:
    """Remove node NODE_ID from the inventory (its Kamailio keeps what it loaded)."""
    _run(as_json, lambda session, actor: inventory.delete_node(session, actor, node_id))
    if as_json:
        _echo_json({"deleted": node_id})
    else:
        click.echo(f"node {node_id} removed")
