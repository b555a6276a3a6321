"""The customers' available credit in the snapshot (credit control of running calls):
compiled and written to the switch data, stored with the snapshot, but not part of its
version (a rated call changes it; the model is not "pending" for that)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from orchestrator.compile.compiler import money_key_value
from orchestrator.compile.snapshot import CustomerRow, Snapshot
from orchestrator.switch.tablefile import sw_items


def _snap(money: str) -> Snapshot:
    return Snapshot(customers=(CustomerRow(1, "ok", 0, 0, True, "A", money=money),))


def test_money_is_credit_times_60_in_units() -> None:
    assert money_key_value(Decimal("0.20")) == str(20_000_000 * 60)
    assert money_key_value(Decimal("1000")) == "6000000000000"
    assert money_key_value(Decimal("0")) == ""
    assert money_key_value(Decimal("-3.5")) == ""


def test_money_is_not_part_of_the_version() -> None:
    a, b = _snap("1200000000"), _snap("600000000")
    assert a.version == b.version
    assert replace(a, customers=(replace(a.customers[0], cps=5),)).version != a.version
    # stored with the snapshot and read back
    assert Snapshot.from_json(a.to_json()).customers[0].money == "1200000000"


def test_money_key_in_the_switch_data() -> None:
    keys = {row[0]: row for row in sw_items(_snap("1200000000"), 1)}
    assert "1:c:1:money" in keys and "1200000000" in [str(v) for v in keys["1:c:1:money"]]
    assert "1:c:1:money" not in {row[0] for row in sw_items(_snap(""), 1)}
