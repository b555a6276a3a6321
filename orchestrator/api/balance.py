"""/api/v1/customers/{id}/balance: balance, credit available and the statement.

The statement (orchestrator/billing/statement.py) covers ``from``..``to`` (UTC days,
both included; default the first of this month to today): the opening balance, the
completed payments, the charges, calls and tax per day with the running total, and the
pending payments apart.
"""

from __future__ import annotations

from typing import Any

from apiflask import Schema, fields
from apiflask.validators import Length

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import resource_blueprint
from orchestrator.billing import statement

bp = resource_blueprint("api_customer_balance", "Customers")


def _money(description: str) -> fields.String:
    return fields.String(required=True, metadata={"format": "decimal", "example": "100.5",
                                                  "description": description})


class BalanceArgs(Schema):
    start = fields.String(data_key="from", validate=Length(max=10), metadata={
        "description": "first day, YYYY-MM-DD (UTC); default the first of this month"})
    end = fields.String(data_key="to", validate=Length(max=10), metadata={
        "description": "last day, included, YYYY-MM-DD; default today"})


class StatementPaymentOut(Schema):
    id = fields.Integer(required=True)
    customer_id = fields.Integer(required=True)
    amount = _money("positive: paid by the customer; negative: refund or correction")
    fee = _money("what the payment provider kept (information only)")
    description = fields.String(required=True)
    status = fields.String(required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})


class StatementDayOut(Schema):
    day = fields.String(required=True, metadata={"format": "date"})
    attempts = fields.Integer(required=True, metadata={"description": "rated call attempts"})
    calls = fields.Integer(required=True, metadata={"description": "answered calls"})
    charges = _money("rated charges, before tax")
    tax = _money("tax on the charges")
    payments = _money("completed payments recorded that day")
    balance = _money("running total at the end of the day")


class StatementOut(Schema):
    start = fields.String(required=True, data_key="from", metadata={"format": "date"})
    end = fields.String(required=True, data_key="to", metadata={"format": "date"})
    tax_percent = _money("the customer's tax, percent")
    opening_balance = _money("balance before the first day")
    payments = _money("completed payments of the period")
    charges = _money("charges of the period, before tax")
    tax = _money("tax of the period")
    closing_balance = _money("opening + payments - charges - tax")
    days = fields.List(fields.Nested(StatementDayOut), required=True)
    completed_payments = fields.List(fields.Nested(StatementPaymentOut), required=True)
    pending_payments = fields.List(fields.Nested(StatementPaymentOut), required=True, metadata={
        "description": "not counted until completed"})


class BalanceOut(Schema):
    customer_id = fields.Integer(required=True)
    currency = fields.String(required=True)
    balance = _money("completed payments - charges x (1 + tax), all time")
    debit_limit = _money("how far the balance may go below zero")
    credit_available = _money("balance + debit_limit; a call may start while it is above "
                              "zero")
    statement = fields.Nested(StatementOut, required=True)


@bp.get("/customers/<int:customer_id>/balance")
@api_auth("read")
@bp.input(BalanceArgs, location="query", arg_name="args")
@bp.output(BalanceOut)
@bp.doc(summary="A customer's balance and statement", description=(
    "Balance and credit available now, and the statement from `from` to `to` (UTC "
    "days, both included): opening balance, payments, charges and tax per day with the "
    "running total; pending payments listed apart."), responses={404: "No such customer"})
def get_balance(ctx: ApiContext, customer_id: int, args: dict[str, Any]) -> dict[str, Any]:
    data = statement.statement(ctx.db, ctx.actor, customer_id, args.get("start"),
                               args.get("end")).to_dict()
    st = data["statement"]
    st["start"], st["end"] = st.pop("from"), st.pop("to")
    return data
