"""The upload wizard of a provider card: choose a file -> preview its first rows ->
map columns to fields and pick the first data row -> import (validated by the job)
into a new draft, straight to active, or scheduled.

Step 1 (the card's Upload tab) keeps the file with ``imports.save_upload``; its token
names the file in every later step, so going back to the mapping after a refused
import needs no new upload. Step 2 shows ``imports.preview_upload``; step 3 queues
``imports.start_import`` and sends the browser to the job's progress page
(webui/jobs_status.py), which links back to step 2 with the choices made.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orchestrator.errors import ValidationFailed
from orchestrator.ratecards import imports
from orchestrator.ratecards import provider_cards as service
from orchestrator.ratecards.deck.mapping import MAPPABLE, REQUIRED
from webui.auth import login_required
from webui.db import db
from webui.jobs_status import register_job_links
from webui.provider_cards.common import bp, errors_of, require_write, status_of
from webui.provider_cards.detail import render_detail
from webui.provider_cards.revisions import parse_date_live

PREVIEW_ROWS = 20
MAX_COLUMNS = 10_000
OPTION_NAMES = ("format", "encoding", "delimiter", "sheet")
WHEN = ("draft", "activate", "schedule")
COLUMN_KEY = re.compile(r"^col_(\d{1,5})$")
FIELD_LABELS = {
    "prefix": "Prefix", "name": "Destination name", "rate": "Rate", "inter": "Inter rate",
    "intra": "Intra rate", "mcd": "MCD (s)", "pulse": "Pulse (s)",
    "billing": "Billing (mcd/pulse, e.g. 60/60)", "connect_fee": "Connect fee",
    "status": "Status (active/blocked)",
}
DELIMITERS = (("", "detect"), (",", "comma ,"), (";", "semicolon ;"), ("tab", "tab"),
              ("|", "pipe |"))


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name, name)


def parse_mapping(form: Mapping[str, str]) -> tuple[dict[str, int], dict[str, list[str]]]:
    """The wizard's column selects (``col_<j>`` = field, empty = ignore) as the import's
    mapping {field: 0-based column}, and the errors of the choice: a field chosen for
    two columns (on each of its selects), an unknown field, a required field missing."""
    chosen: dict[str, list[int]] = {}
    errors: dict[str, list[str]] = {}
    for key, value in form.items():
        match = COLUMN_KEY.match(key)
        if match is None or not value.strip():
            continue
        column, field = int(match.group(1)), value.strip()
        if column >= MAX_COLUMNS:
            continue
        if field not in MAPPABLE:
            errors[key] = [f"unknown field {field[:30]!r}"]
            continue
        chosen.setdefault(field, []).append(column)
    mapping: dict[str, int] = {}
    for field, columns in chosen.items():
        columns.sort()
        if len(columns) > 1:
            for column in columns:
                others = ", ".join(str(c + 1) for c in columns if c != column)
                errors[f"col_{column}"] = [f"{field_label(field)} is also chosen for "
                                           f"column {others}: choose it once."]
        mapping[field] = columns[0]
    if "billing" in mapping and ("mcd" in mapping or "pulse" in mapping):
        errors[f"col_{mapping['billing']}"] = ["Choose either Billing (60/60) or MCD and "
                                               "Pulse, not both."]
    for field in REQUIRED:
        if field not in mapping:
            errors[f"mapping.{field}"] = [f"Choose the column that holds the "
                                          f"{field_label(field).lower()}."]
    return mapping, errors


def parse_first_row(text: str) -> tuple[int | None, str | None]:
    text = text.strip()
    if not text.isdigit() or not 1 <= int(text) <= 10**9:
        return None, "must be a row number, 1 or more"
    return int(text), None


def read_options(values: Mapping[str, str]) -> dict[str, Any]:
    """The reading overrides the user chose (empty = detect)."""
    return {name: values.get(name, "").strip() for name in OPTION_NAMES
            if values.get(name, "").strip()}


def mapping_url(card_id: int, token: str, values: Mapping[str, str]) -> str:
    """Step 2 of this upload with the given choices (back link of a failed import)."""
    keep = {k: v for k, v in values.items()
            if k in (*OPTION_NAMES, "filename", "first_row", "when", "date_live")
            or COLUMN_KEY.match(k)}
    base = url_for("provider_cards.mapping", card_id=card_id, token=token)
    query = urlencode([(k, v) for k, v in keep.items() if v != ""] + [("back", "1")])
    return f"{base}?{query}"


@bp.post("/provider-cards/<int:card_id>/upload")
@login_required
def upload(card_id: int) -> ResponseReturnValue:
    """Step 1: keep the file and go on to its preview."""
    require_write()
    file = request.files.get("file")
    options = read_options(request.form)
    content = file.read() if file is not None else b""
    filename = (file.filename or "upload") if file is not None else ""
    try:
        if file is None or not filename:
            raise ValidationFailed.one("file", "Choose a file to upload.")
        token = imports.save_upload(content)
    except ValidationFailed as exc:
        return render_detail(card_id, "upload", errors=errors_of(exc),
                             values=dict(request.form), status=422)
    return redirect(url_for("provider_cards.mapping", card_id=card_id, token=token,
                            filename=filename[:200], **options))


def _preview(token: str, options: dict[str, str],
             errors: dict[str, list[str]]) -> dict[str, Any] | None:
    """The preview with the chosen overrides; when they fail, the problem is reported
    in ``errors`` and the file is shown as detected instead. None: the file is
    unusable (or gone)."""
    try:
        return imports.preview_upload(token, rows=PREVIEW_ROWS, **options)
    except ValidationFailed as exc:
        for key, messages in exc.errors.items():
            errors.setdefault(key, []).extend(messages)
        if not options or "upload" in exc.errors:
            return None
    try:
        return imports.preview_upload(token, rows=PREVIEW_ROWS)
    except ValidationFailed as exc:
        for key, messages in exc.errors.items():
            errors.setdefault(key, []).extend(messages)
        return None


def _render_mapping(card_id: int, token: str, values: Mapping[str, str],
                    errors: dict[str, list[str]], status: int = 200) -> ResponseReturnValue:
    who = require_write()
    card = service.to_dict(service.get_provider_card(db(), who, card_id))
    options = read_options(values)
    preview = _preview(token, options, errors)
    columns: dict[int, str] = {}
    first_row = values.get("first_row", "")
    if preview is not None:
        if any(COLUMN_KEY.match(k) for k in values):
            columns = {int(m.group(1)): v for k, v in values.items()
                       if (m := COLUMN_KEY.match(k))}
        else:
            columns = {index: field for field, index in preview["mapping"].items()}
        first_row = first_row or str(preview["first_row"])
    delimiter = preview["delimiter"] if preview else None
    page = render_template(
        "provider_cards/mapping.html", card=card, token=token, preview=preview,
        columns=columns, first_row=first_row, errors=errors, values=values,
        options=options, filename=values.get("filename", ""),
        when=values.get("when", "draft") if values.get("when") in WHEN else "draft",
        date_live=values.get("date_live", ""), field_label=field_label,
        delimiters=DELIMITERS, formats=imports.FORMATS,
        shown_delimiter="tab" if delimiter == "\t" else (delimiter or ""),
        required=REQUIRED, back=values.get("back") == "1")
    return page, status


@bp.get("/provider-cards/<int:card_id>/upload/<token>")
@login_required
def mapping(card_id: int, token: str) -> ResponseReturnValue:
    """Step 2: the first rows, what was detected, and the column choice."""
    return _render_mapping(card_id, token, request.args, {})


@bp.post("/provider-cards/<int:card_id>/upload/<token>")
@login_required
def start(card_id: int, token: str) -> ResponseReturnValue:
    """Step 3: queue the import and follow it on the job's page."""
    who = require_write()
    form = request.form
    columns, errors = parse_mapping(form)
    first_row, problem = parse_first_row(form.get("first_row", ""))
    if problem:
        errors["first_row"] = [problem]
    when = form.get("when", "draft")
    date_live: datetime | None = None
    if when not in WHEN:
        errors["when"] = ["choose a new draft, activate now or schedule"]
    elif when == "schedule":
        try:
            date_live = parse_date_live(form.get("date_live", ""))
        except ValidationFailed as exc:
            errors |= dict(exc.errors)
        else:
            if date_live is None:
                errors["date_live"] = ["give the date and time it goes live (UTC)"]
            elif date_live <= datetime.now(UTC):
                errors["date_live"] = ["must be in the future (or choose activate now)"]
    if errors:
        return _render_mapping(card_id, token, form, errors, 422)
    copy: str | None = None
    try:
        # The import job removes its file when it ends, also when it fails; it gets a
        # copy so that the user can go back to this step without uploading again.
        original = imports.upload_path(token)
        if not original.exists():
            raise ValidationFailed.one("upload", "the uploaded file is gone (older than a "
                                       "day): upload it again")
        copy = imports.save_upload(original.read_bytes())
        job = imports.start_import(
            db(), who, kind="provider", card_id=card_id, upload=copy,
            filename=form.get("filename", "") or "upload", mapping=columns,
            first_row=first_row, activate=when == "activate", date_live=date_live,
            **read_options(form))
    except ValidationFailed as exc:
        db().rollback()
        if copy is not None:
            imports.upload_path(copy).unlink(missing_ok=True)
        return _render_mapping(card_id, token, form, errors_of(exc), status_of(exc))
    db().flush()
    return redirect(url_for("job_status.page", job_id=job.id,
                            back=mapping_url(card_id, token, form)))


def _import_links(job: dict[str, Any]) -> dict[str, Any] | None:
    """On the progress page of a provider card import: where its rates are."""
    params = job.get("params") or {}
    if job.get("kind") != "ratecards.import" or params.get("kind") != "provider":
        return None
    card_id = params.get("card_id")
    links: dict[str, Any] = {
        "title": f"Import of {params.get('filename') or 'a file'}",
        "card": (url_for("provider_cards.detail", card_id=card_id), "Back to the provider card"),
        "failed_note": "Nothing was imported: no revision was created.",
        "back_label": "Back to the column mapping",
    }
    result = job.get("result") or {}
    if job.get("state") == "done" and result.get("revision_id"):
        links["result"] = (url_for("provider_cards.detail", card_id=card_id, tab="rates",
                                   revision=result["revision_id"]),
                           f"Show the rates of revision {result.get('revision_number')}")
    return links


register_job_links("ratecards.import", _import_links)
