"""A customer's balance statement page: period form, totals, days, running-total chart.

The chart is an inline SVG polyline drawn here (no chart script: switches run on
closed networks and nothing is loaded from a CDN).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue

from orchestrator.billing import statement as statements
from orchestrator.errors import ValidationFailed
from webui.auth import login_required
from webui.customers.common import actor, bp
from webui.db import db

CHART_WIDTH, CHART_HEIGHT, PAD = 640, 160, 8


def chart(points: list[tuple[str, Decimal]]) -> dict[str, Any] | None:
    """SVG coordinates of the running total (one point per day with activity)."""
    if len(points) < 2:
        return None
    values = [float(v) for _, v in points]
    low, high = min(*values, 0.0), max(*values, 0.0)
    span = (high - low) or 1.0

    def y(value: float) -> float:
        return round(PAD + (high - value) / span * (CHART_HEIGHT - 2 * PAD), 1)

    step = (CHART_WIDTH - 2 * PAD) / (len(points) - 1)
    coords = [(round(PAD + i * step, 1), y(v)) for i, v in enumerate(values)]
    return {"width": CHART_WIDTH, "height": CHART_HEIGHT, "zero": y(0.0),
            "points": " ".join(f"{x},{yy}" for x, yy in coords),
            "first": points[0][0], "last": points[-1][0],
            "low": statements.money(Decimal(str(low))),
            "high": statements.money(Decimal(str(high)))}


@bp.get("/customers/<int:customer_id>/balance")
@login_required
def balance_statement(customer_id: int) -> ResponseReturnValue:
    start, end = request.args.get("from", ""), request.args.get("to", "")
    errors: dict[str, list[str]] = {}
    try:
        st = statements.statement(db(), actor(), customer_id, start, end)
    except ValidationFailed as exc:
        errors = exc.errors
        st = statements.statement(db(), actor(), customer_id)
    data = st.to_dict()
    line = chart([(st.start.isoformat(), st.opening)]
                 + [(d.day.isoformat(), d.balance) for d in st.days])
    status = 422 if errors else 200
    return render_template("customers/balance.html", st=st, data=data, chart=line,
                           errors=errors, start=start or data["statement"]["from"],
                           end=end or data["statement"]["to"]), status
