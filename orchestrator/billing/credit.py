"""Credit to the switch within seconds, without an apply.

The switch refuses a new call with ``402 Insufficient Balance`` unless the htable key
``<g>:c:<customer id>:credit`` of the serving generation ``g`` is 1 (templates/
kamailio/steps.cfg.j2, route LIMITS), and puts an answered call under credit control
with ``<g>:c:<id>:money`` (templates/kamailio/credit.cfg.j2; absent = no credit). The
compiler writes both at every apply (``balance + debit_limit > 0`` and
``compiler.money_key_value``); ``push_credit`` computes the same values now and sets
them in Kamailio's memory (``htable.seti`` / ``sets`` / ``delete``) for both
generations (the other one is kept loaded for rollback), then writes the same rows
into the node's table file, so a Kamailio restart or an htable reload keeps them.

Only keys that the table file already holds are pushed: a customer that was never
applied has no keys, and the switch does not know it yet. Keys whose value already
matches the table file are not sent again (the file mirrors what was pushed: it is
written only after Kamailio took the value); ``force=True`` sends them all.

Scope: the local node only (``orchestrator.switch.nodes.local_node``); remote nodes
get the value at the next apply.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.compile.compiler import money_key_value
from orchestrator.customers.models import Customer
from orchestrator.customers.payments import balances
from orchestrator.jobs.queue import JobContext, job_task
from orchestrator.kamailio import KamailioError, htable
from orchestrator.settings import Settings
from orchestrator.switch.nodes import SwitchNode, local_node
from orchestrator.switch.tablefile import GENERATIONS

log = logging.getLogger(__name__)

FILE_BUSY_SECONDS = 5.0   # an apply writing the table file holds it this long at most


@dataclass
class CreditPush:
    """What ``push_credit`` did on one node."""

    node: str
    credit: dict[int, bool] = field(default_factory=dict)   # customer id -> may call
    sent: list[str] = field(default_factory=list)            # keys set in Kamailio
    unknown: list[int] = field(default_factory=list)         # not in the table file
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "credit": {str(k): v for k, v in self.credit.items()},
                "sent": self.sent, "unknown": self.unknown, "error": self.error}


def credit_key(gen: int, customer_id: int) -> str:
    return f"{gen}:c:{customer_id}:credit"


def money_key(gen: int, customer_id: int) -> str:
    return f"{gen}:c:{customer_id}:money"


def credit_available(session: Session, customer_ids: Iterable[int]) -> dict[int, Decimal]:
    """customer id -> balance + debit_limit; unknown ids left out."""
    ids = sorted(set(customer_ids))
    limits = dict(session.execute(select(Customer.id, Customer.debit_limit)
                                  .where(Customer.id.in_(ids))).all())
    owed = balances(session, list(limits))
    return {cid: owed[cid] + limits[cid] for cid in sorted(limits)}


def credit_flags(session: Session, customer_ids: Iterable[int]) -> dict[int, bool]:
    """customer id -> balance + debit_limit > 0 (the compiler's rule); unknown ids left out."""
    return {cid: left > 0 for cid, left in credit_available(session, customer_ids).items()}


def _file_values(node: SwitchNode, keys: list[str]) -> dict[str, str]:
    if not node.table_file.is_file():
        return {}
    values: dict[str, str] = {}
    with closing(sqlite3.connect(node.table_file, timeout=FILE_BUSY_SECONDS)) as conn:
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            values.update((str(k), str(v)) for k, v in conn.execute(
                f"SELECT key_name, key_value FROM ht_sw WHERE key_name IN ({marks})", chunk))
    return values


def _write_file(node: SwitchNode, values: dict[str, int | str | None]) -> None:
    """Mirror what Kamailio took: int rows (type 1) updated, str rows (type 0) replaced,
    None rows deleted."""
    with closing(sqlite3.connect(node.table_file, timeout=FILE_BUSY_SECONDS,
                                 isolation_level=None)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        for key, value in values.items():
            if isinstance(value, int):
                conn.execute("UPDATE ht_sw SET key_value = ? WHERE key_name = ?",
                             (str(value), key))
                continue
            conn.execute("DELETE FROM ht_sw WHERE key_name = ?", (key,))
            if value is not None:
                conn.execute("INSERT INTO ht_sw (key_name, key_type, value_type, key_value, "
                             "expires) VALUES (?, 0, 0, ?, 0)", (key, value))
        conn.execute("COMMIT")


def push_credit(session: Session, settings: Settings, customer_ids: Iterable[int], *,
                force: bool = False, node: SwitchNode | None = None) -> CreditPush:
    """Set ``<g>:c:<id>:credit`` (1 = may call) on the local node for these customers.

    Call it after the transaction that changed their balances committed. Errors of
    Kamailio or of the table file are logged and returned in ``error``, never raised:
    the next push or apply sets the value again."""
    node = node or local_node(settings)
    available = credit_available(session, customer_ids)
    result = CreditPush(node.name, {cid: left > 0 for cid, left in available.items()})
    flags = {credit_key(g, cid): int(left > 0) for cid, left in available.items()
             for g in GENERATIONS}
    money = {money_key(g, cid): money_key_value(left) or None
             for cid, left in available.items() for g in GENERATIONS}
    try:
        have = _file_values(node, sorted(flags.keys() | money.keys()))
    except sqlite3.Error as exc:
        result.error = f"table file {node.table_file}: {exc}"
        log.warning("credit push: %s", result.error)
        return result
    result.unknown = [cid for cid in available
                      if not any(credit_key(g, cid) in have for g in GENERATIONS)]
    send: dict[str, int | str | None] = {}
    for (key, flag), (mkey, amount) in zip(flags.items(), money.items(), strict=True):
        if key not in have:
            continue    # this generation does not know the customer
        if force or have[key] != str(flag):
            send[key] = flag
        if force or have.get(mkey) != amount:
            send[mkey] = amount
    done: dict[str, int | str | None] = {}
    try:
        rpc = node.rpc()
        for key, value in send.items():
            if isinstance(value, int):
                htable.seti(rpc, "sw", key, value)
            elif value is None:
                htable.delete(rpc, "sw", key)
            else:
                htable.sets(rpc, "sw", key, value)
            done[key] = value
    except KamailioError as exc:
        result.error = f"Kamailio {node.name}: {exc}"
        log.warning("credit push: %s", result.error)
    result.sent = sorted(done)
    if done:
        try:
            _write_file(node, done)
        except sqlite3.Error as exc:
            result.error = result.error or f"table file {node.table_file}: {exc}"
            log.warning("credit push: table file %s not updated: %s", node.table_file, exc)
    return result


@job_task("billing.credit")
def push_credit_job(ctx: JobContext) -> dict[str, Any]:
    """Push the credit flags of ``params["customer_ids"]`` (queued by billing.changes)."""
    ids = [int(cid) for cid in ctx.params.get("customer_ids", [])]
    with ctx.sessions() as session:
        result = push_credit(session, ctx.settings, ids)
    if result.error:
        raise RuntimeError(result.error)
    return result.to_dict()
