"""The statistics page: period, grouping and filters; the table, and two charts over
time (attempts/answered; revenue/cost/profit) drawn by static/charts.js from the data
table under them (the table is the chart's data, readable without script)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue

from orchestrator.billing import stats
from orchestrator.errors import ValidationFailed
from webui.auth import current_actor, login_required
from webui.cdrs.common import (
    bp,
    carrier_choices,
    customer_choices,
    form_values,
    local_input,
)
from webui.db import db
from webui.state import web_state

KEYS = ("from", "to", "group_by", "customer_id", "carrier_id")
GROUP_LABELS = {"customer": "Customer", "carrier": "Carrier",
                "destination": "Destination (sell prefix)", "hour": "Hour", "day": "Day"}


def _series(result: stats.Stats) -> dict[str, Any]:
    """What charts.js draws: labels and the numbers per bucket (money as decimals)."""
    return {
        "bucket": result.query.group_by,
        "currency": result.currency,
        "labels": [r.label for r in result.rows],
        "attempts": [r.attempts for r in result.rows],
        "answered": [r.answered for r in result.rows],
        "revenue": [r.as_dict()["revenue"] for r in result.rows],
        "cost": [r.as_dict()["cost"] for r in result.rows],
        "profit": [r.as_dict()["profit"] for r in result.rows],
    }


@bp.get("/stats", endpoint="stats")
@login_required
def stats_page() -> ResponseReturnValue:
    values = form_values(request.args, KEYS)
    values["group_by"] = values["group_by"] or "customer"
    errors: dict[str, list[str]] = {}
    table = series = None
    try:
        query = stats.parse_query(values)
        base = web_state().settings.base_currency
        table = stats.statistics(db(), current_actor(), query, base)
        bucket = stats.series_bucket(query)
        series = table if bucket == query.group_by else stats.statistics(
            db(), current_actor(), stats.StatsQuery(
                start=query.start, end=query.end, group_by=bucket,
                customer_id=query.customer_id, carrier_id=query.carrier_id), base)
        values["from"], values["to"] = local_input(query.start), local_input(query.end)
    except ValidationFailed as exc:
        errors = dict(exc.errors)
    return render_template(
        "cdrs/stats.html", values=values, errors=errors, table=table,
        series=_series(series) if series else None,
        series_rows=series.rows if series else [],
        groups=list(GROUP_LABELS.items()), group_label=GROUP_LABELS.get(values["group_by"]),
        customers=customer_choices(), carriers=carrier_choices()), 422 if errors else 200
