"""push_credit without a reachable Kamailio: the values it would send, nothing written
to the table file, the error returned (never raised); the credit rule of the compiler."""

from __future__ import annotations

from contextlib import closing
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from orchestrator.billing.credit import credit_flags, push_credit
from orchestrator.compile.compiler import compile_snapshot
from orchestrator.customers import payments
from orchestrator.switch.nodes import SwitchNode
from orchestrator.switch.tablefile import connect, ensure_table_file
from tests.support.dataplane import test_settings as make_settings
from tests.support.ports import free_port
from tests.unit.billing.balances_support import OPERATOR, U, make_customer, rate

pytest_plugins = ["tests.unit.billing.balances_fixtures"]


def test_flags_follow_balance_plus_debit_limit_like_the_compiler(
        session: Session, tmp_path: Path) -> None:
    prepaid = make_customer(session, "Prepaid")                          # 0 + 0
    postpaid = make_customer(session, "Postpaid", debit_limit="1")       # -0.5 + 1
    reserve = make_customer(session, "Reserve", debit_limit="-2")        # 2 - 2
    payments.add_payment(session, OPERATOR, reserve.id, {"amount": "2",
                                                         "status": "completed"})
    rate(session, postpaid.id, U // 2)
    flags = credit_flags(session, [prepaid.id, postpaid.id, reserve.id, 999])
    assert flags == {prepaid.id: False, postpaid.id: True, reserve.id: False}
    snapshot = compile_snapshot(session, make_settings(tmp_path))
    assert {c.id: c.credit for c in snapshot.customers} == flags


def test_unreachable_kamailio_is_reported_and_the_file_left_alone(
        session: Session, tmp_path: Path) -> None:
    customer = make_customer(session, debit_limit="3")
    table = tmp_path / "kamailio.db"
    ensure_table_file(table)
    with closing(connect(table)) as conn:
        conn.execute("INSERT INTO ht_sw (key_name, key_type, value_type, key_value, expires)"
                     " VALUES (?, 0, 1, '0', 0)", (f"1:c:{customer.id}:credit",))
    node = SwitchNode("local", f"http://127.0.0.1:{free_port()}/RPC", table)
    pushed = push_credit(session, make_settings(tmp_path), [customer.id], node=node)
    assert pushed.credit == {customer.id: True}
    assert pushed.sent == [] and pushed.unknown == []
    assert "Kamailio local" in pushed.error
    with closing(connect(table)) as conn:
        rows = conn.execute("SELECT key_name, key_value FROM ht_sw").fetchall()
    assert rows == [(f"1:c:{customer.id}:credit", "0")]
    assert payments.credit_available(session, customer.id) == Decimal(3)
