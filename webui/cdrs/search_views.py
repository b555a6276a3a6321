"""The CDR search page (GET form: bookmarkable), one CDR, and the CSV export link."""

from __future__ import annotations

from datetime import timedelta

from flask import Response, render_template, request, stream_with_context
from flask.typing import ResponseReturnValue

from orchestrator.billing import cdr_export, search
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

LIMITS = (50, 100, 200, 500)
RESULT_CHOICES = ("answered", "failed", "403", "404", "480", "486", "487", "503")


def _limit(text: str) -> int:
    return int(text) if text.isdigit() and int(text) in LIMITS else LIMITS[0]


@bp.get("/cdrs")
@login_required
def index() -> ResponseReturnValue:
    values = form_values(request.args, search.FILTER_KEYS)
    limit = _limit(request.args.get("limit", ""))
    cursor = request.args.get("cursor", "").strip()[:200] or None
    errors: dict[str, list[str]] = {}
    page = None
    flt = None
    try:
        flt = search.parse_filter(values)
        page = search.search(db(), current_actor(), flt, cursor=cursor, limit=limit)
    except ValidationFailed as exc:
        errors = dict(exc.errors)
    if flt is not None:
        values["from"], values["to"] = local_input(flt.start), local_input(flt.end)
    params = {**flt.as_params(), "limit": str(limit)} if flt else {}
    if flt and limit == LIMITS[0]:
        params.pop("limit")
    return render_template(
        "cdrs/search.html", values=values, errors=errors, page=page, params=params,
        export_params=flt.as_params() if flt else {}, limit=limit, limits=LIMITS,
        customers=customer_choices(), carriers=carrier_choices(),
        result_choices=RESULT_CHOICES), 422 if errors else 200


@bp.get("/cdrs/<int:cdr_id>")
@login_required
def detail(cdr_id: int) -> ResponseReturnValue:
    row = search.get_cdr(db(), current_actor(), cdr_id)
    start = search.as_utc(row.cdr.start_at)
    around = {"call_id": row.cdr.call_id, "from": local_input(start - timedelta(hours=1)),
              "to": local_input(start + timedelta(hours=2))}
    return render_template("cdrs/detail.html", row=row, cdr=row.cdr, search_params=around)


@bp.get("/cdrs/export.csv")
@login_required
def export() -> ResponseReturnValue:
    """The CSV of the search's filters (no paging: every row), streamed."""
    flt = search.parse_filter(form_values(request.args, search.FILTER_KEYS))
    chunks = cdr_export.export_csv(db(), current_actor(), flt)
    return Response(stream_with_context(chunks), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{cdr_export.export_filename(flt)}"'})
