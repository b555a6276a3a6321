"""The inventory of switch nodes beyond the local one (docs/switch.md, "Nodes")."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from orchestrator.db.base import Base
from orchestrator.db.types import Timestamps


class SwitchNodeRecord(Timestamps, Base):
    """A Kamailio node an apply goes to, after the local node that `make run` starts.

    ``table_file`` is the node's switch table file as the control plane reaches it
    (a path on this machine or a mounted one; pushing it over SSH comes with the
    Ansible playbooks)."""

    __tablename__ = "switch_nodes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    rpc_url: Mapped[str] = mapped_column(String(255))
    table_file: Mapped[str] = mapped_column(String(1000))
    enabled: Mapped[bool] = mapped_column(default=True)
