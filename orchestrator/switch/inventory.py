"""Switch nodes: the local node (always first) and the inventory in the model.

An apply goes to every enabled node, each on its own (docs/design/routing.md): a
node that fails keeps serving its previous snapshot and is reported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.errors import Conflict, NotFound, ValidationFailed
from orchestrator.settings import Settings
from orchestrator.switch.models import SwitchNodeRecord
from orchestrator.switch.nodes import SwitchNode, local_node

OBJECT_TYPE = "switch_node"
LOCAL = "local"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def node_to_dict(record: SwitchNodeRecord) -> dict[str, Any]:
    return {"id": record.id, "name": record.name, "rpc_url": record.rpc_url,
            "table_file": record.table_file, "enabled": record.enabled}


def nodes(session: Session, settings: Settings) -> list[SwitchNode]:
    """Where an apply goes: the local node, then the enabled inventory by name."""
    found = session.scalars(select(SwitchNodeRecord).where(SwitchNodeRecord.enabled.is_(True))
                            .order_by(SwitchNodeRecord.name)).all()
    return [local_node(settings)] + [SwitchNode(r.name, r.rpc_url, Path(r.table_file))
                                     for r in found]


def list_nodes(session: Session, actor: Actor) -> list[SwitchNodeRecord]:
    actor.require("read")
    return list(session.scalars(select(SwitchNodeRecord).order_by(SwitchNodeRecord.name)))


def _clean(data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    unknown = set(data) - {"name", "rpc_url", "table_file", "enabled"}
    for field in sorted(unknown):
        errors[field] = ["unknown field"]
    name = str(data.get("name") or "").strip()
    if not _NAME.match(name):
        errors["name"] = ["1-64 letters, digits, '.', '_' or '-', starting with a letter "
                          "or digit"]
    elif name.lower() == LOCAL:
        errors["name"] = ["'local' is the node `make run` starts; choose another name"]
    url = str(data.get("rpc_url") or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or not parts.port:
        errors["rpc_url"] = ["Kamailio's JSON-RPC URL with host and port, e.g. "
                             "http://10.0.0.5:5071/RPC"]
    table_file = str(data.get("table_file") or "").strip()
    if not table_file.startswith("/") or not table_file.endswith(".db"):
        errors["table_file"] = ["the absolute path of the node's switch table file "
                                "(…/kamailio.db) as this machine reaches it"]
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        errors["enabled"] = ["must be true or false"]
    if errors:
        raise ValidationFailed(errors)
    return {"name": name, "rpc_url": url, "table_file": table_file, "enabled": enabled}


def add_node(session: Session, actor: Actor, data: Mapping[str, Any]) -> SwitchNodeRecord:
    """Add a node to the inventory; the next apply writes its table file."""
    actor.require("write")
    values = _clean(data)
    taken = session.scalar(select(SwitchNodeRecord.id).where(
        func.lower(SwitchNodeRecord.name) == values["name"].lower()))
    if taken is not None:
        raise Conflict("name", f"a node named {values['name']} exists already")
    record = SwitchNodeRecord(**values)
    session.add(record)
    session.flush()
    audit.record(session, actor, "create", OBJECT_TYPE, record.id,
                 f"switch node {record.name} added", after=node_to_dict(record))
    return record


def delete_node(session: Session, actor: Actor, node_id: int) -> None:
    """Remove a node from the inventory (its Kamailio keeps its last snapshot)."""
    actor.require("write")
    record = session.get(SwitchNodeRecord, node_id)
    if record is None:
        raise NotFound("switch node", node_id)
    before = node_to_dict(record)
    session.delete(record)
    session.flush()
    audit.record(session, actor, "delete", OBJECT_TYPE, node_id,
                 f"switch node {before['name']} removed", before=before)
