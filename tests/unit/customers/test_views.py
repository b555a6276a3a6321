"""The combined read views every interface shows."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from orchestrator.customers import ips, payments, service, sip_users, views
from orchestrator.errors import ValidationFailed
from orchestrator.listing import ListQuery
from tests.unit.customers.conftest import OPERATOR, VIEWER


def test_detail_has_balance_and_sub_objects_without_secrets(session: Session,
                                                            make_customer: Any) -> None:
    customer = make_customer(debit_limit="5.5")
    ips.add_ip(session, OPERATOR, customer.id, {"network": "2001:db8::/48", "port": 5060})
    sip_users.add_sip_user(session, OPERATOR, customer.id,
                           {"username": "trunk1", "password": "secret-password"}, realm="r")
    payments.add_payment(session, OPERATOR, customer.id,
                         {"amount": "12.345", "fee": "0.5", "status": "completed"})
    payments.add_payment(session, OPERATOR, customer.id, {"amount": "99"})
    detail = views.customer_detail(session, VIEWER, customer.id, payment_limit=1)
    assert (detail["balance"], detail["credit_available"]) == ("12.345", "17.845")
    assert [(e["network"], e["port"]) for e in detail["ips"]] == [("2001:db8::/48", 5060)]
    assert [u["username"] for u in detail["sip_users"]] == ["trunk1"]
    assert len(detail["payments"]) == 1 and detail["payments_total"] == 2
    assert "secret-password" not in repr(detail) and "ha1" not in repr(detail)
    assert detail["created_at"].endswith("+00:00")


def test_rows_carry_each_balance(session: Session, make_customer: Any) -> None:
    one, two = make_customer("One"), make_customer("Two")
    payments.add_payment(session, OPERATOR, two.id, {"amount": "-3", "status": "completed"})
    page = service.list_customers(session, VIEWER, ListQuery())
    rows = views.customer_rows(session, page.items)
    assert [(r["id"], r["balance"]) for r in rows] == [(one.id, "0"), (two.id, "-3")]


def test_unknown_status_filter_is_refused(session: Session) -> None:
    with pytest.raises(ValidationFailed) as info:
        service.list_customers(session, VIEWER, ListQuery(), status="gone")
    assert list(info.value.errors) == ["status"]
