"""The upload wizard of a provider card: choose a file -> preview its first rows ->
map columns to fields and pick the first data row -> import (validated by the job)
into a new draft, straight to active, or scheduled.

Step 1 (the card's Upload tab) keeps the file with ``imports.save_upload``; its token
names the file in every later step, so going back to the mapping after a refused
import needs no new upload. Step 2 shows ``imports.preview_upload``; step 3 queues
``imports.start_import`` and sends the browser to the job's progress page
(webui/jobs_status.py), which links back to step 2 with the choices made.

``register(bp, UploadKind(...))`` adds the same pages to the provider card blueprint
(here) and to the customer card blueprint (``webui/customer_cards/upload.py``, for
external cards only: ``UploadKind.check`` refuses the others with 409). The
templates (``provider_cards/mapping.html``, ``provider_cards/_upload_form.html``)
serve both; the endpoint names are the same on each blueprint (``upload``,
``mapping``, ``start``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orchestrator.actor import Actor
from orchestrator.errors import ValidationFailed
from orchestrator.ratecards import imports
from orchestrator.ratecards.deck.mapping import MAPPABLE, REQUIRED
from orchestrator.ratecards.revisions import Card
from webui.auth import login_required
from webui.db import db
from webui.jobs_status import register_job_links
from webui.provider_cards.common import bp, errors_of, status_of
from webui.provider_cards.detail import render_detail
from webui.provider_cards.drafts import PROVIDER, Kind
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


@dataclass(frozen=True)
class UploadKind:
    """What differs between the provider and the customer card upload pages."""

    cards: Kind  # blueprint name, URL base, label, loading a card, who may write
    import_kind: str  # ``kind`` of imports.start_import: "provider" or "customer"
    list_label: str  # the breadcrumb's link to the list, e.g. "Provider cards"
    render_detail: Callable[..., ResponseReturnValue]  # the card page (step 1 errors)
    check: Callable[[Card], None] | None = None  # refuses (aborts) a card without uploads


_KINDS: dict[str, UploadKind] = {}  # import kind -> its pages (for the job page links)


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


def mapping_url(card_id: int, token: str, values: Mapping[str, str],
                endpoint: str = "provider_cards") -> str:
    """Step 2 of this upload with the given choices (back link of a failed import)."""
    keep = {k: v for k, v in values.items()
            if k in (*OPTION_NAMES, "filename", "first_row", "when", "date_live")
            or COLUMN_KEY.match(k)}
    base = url_for(f"{endpoint}.mapping", card_id=card_id, token=token)
    query = urlencode([(k, v) for k, v in keep.items() if v != ""] + [("back", "1")])
    return f"{base}?{query}"


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


def register(blueprint: Blueprint, kind: UploadKind) -> None:
    """The wizard's three steps on ``blueprint`` (endpoints upload, mapping, start)."""
    endpoint = kind.cards.endpoint
    _KINDS[kind.import_kind] = kind

    def writable_card(card_id: int) -> tuple[Actor, Card]:
        """The actor (403 unless it may write) and the card (404; refused by check)."""
        who = kind.cards.write()
        card = kind.cards.load(who, card_id)
        if kind.check is not None:
            kind.check(card)
        return who, card

    def upload(card_id: int) -> ResponseReturnValue:
        """Step 1: keep the file and go on to its preview."""
        writable_card(card_id)
        file = request.files.get("file")
        options = read_options(request.form)
        content = file.read() if file is not None else b""
        filename = (file.filename or "upload") if file is not None else ""
        try:
            if file is None or not filename:
                raise ValidationFailed.one("file", "Choose a file to upload.")
            token = imports.save_upload(content)
        except ValidationFailed as exc:
            return kind.render_detail(card_id, "upload", errors=errors_of(exc),
                                      values=dict(request.form), status=422)
        return redirect(url_for(f"{endpoint}.mapping", card_id=card_id, token=token,
                                filename=filename[:200], **options))

    def render_mapping(card_id: int, token: str, values: Mapping[str, str],
                       errors: dict[str, list[str]],
                       status: int = 200) -> ResponseReturnValue:
        _, card = writable_card(card_id)
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
            "provider_cards/mapping.html", card=kind.cards.to_dict(card), token=token,
            preview=preview, columns=columns, first_row=first_row, errors=errors,
            values=values, options=options, filename=values.get("filename", ""),
            when=values.get("when", "draft") if values.get("when") in WHEN else "draft",
            date_live=values.get("date_live", ""), field_label=field_label,
            delimiters=DELIMITERS, formats=imports.FORMATS,
            shown_delimiter="tab" if delimiter == "\t" else (delimiter or ""),
            required=REQUIRED, back=values.get("back") == "1", ep=endpoint,
            list_label=kind.list_label)
        return page, status

    def mapping(card_id: int, token: str) -> ResponseReturnValue:
        """Step 2: the first rows, what was detected, and the column choice."""
        return render_mapping(card_id, token, request.args, {})

    def start(card_id: int, token: str) -> ResponseReturnValue:
        """Step 3: queue the import and follow it on the job's page."""
        who, _ = writable_card(card_id)
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
            return render_mapping(card_id, token, form, errors, 422)
        copy: str | None = None
        try:
            # The import job removes its file when it ends, also when it fails; it gets
            # a copy so that the user can go back to this step without uploading again.
            original = imports.upload_path(token)
            if not original.exists():
                raise ValidationFailed.one("upload", "the uploaded file is gone (older "
                                           "than a day): upload it again")
            copy = imports.save_upload(original.read_bytes())
            job = imports.start_import(
                db(), who, kind=kind.import_kind, card_id=card_id, upload=copy,
                filename=form.get("filename", "") or "upload", mapping=columns,
                first_row=first_row, activate=when == "activate", date_live=date_live,
                **read_options(form))
        except ValidationFailed as exc:
            db().rollback()
            if copy is not None:
                imports.upload_path(copy).unlink(missing_ok=True)
            return render_mapping(card_id, token, form, errors_of(exc), status_of(exc))
        db().flush()
        return redirect(url_for("job_status.page", job_id=job.id,
                                back=mapping_url(card_id, token, form, endpoint)))

    base = f"{kind.cards.base}/<int:card_id>/upload"
    blueprint.add_url_rule(base, "upload", login_required(upload), methods=["POST"])
    blueprint.add_url_rule(f"{base}/<token>", "mapping", login_required(mapping),
                           methods=["GET"])
    blueprint.add_url_rule(f"{base}/<token>", "start", login_required(start),
                           methods=["POST"])


def _import_links(job: dict[str, Any]) -> dict[str, Any] | None:
    """On the progress page of a card import: back to the card, where its rates are."""
    params = job.get("params") or {}
    kind = _KINDS.get(str(params.get("kind")))
    if job.get("kind") != "ratecards.import" or kind is None:
        return None
    endpoint, card_id = kind.cards.endpoint, params.get("card_id")
    links: dict[str, Any] = {
        "title": f"Import of {params.get('filename') or 'a file'}",
        "card": (url_for(f"{endpoint}.detail", card_id=card_id),
                 f"Back to the {kind.cards.label}"),
        "failed_note": "Nothing was imported: no revision was created.",
        "back_label": "Back to the column mapping",
    }
    result = job.get("result") or {}
    if job.get("state") == "done" and result.get("revision_id"):
        links["result"] = (url_for(f"{endpoint}.detail", card_id=card_id, tab="rates",
                                   revision=result["revision_id"]),
                           f"Show the rates of revision {result.get('revision_number')}")
    return links


PROVIDER_UPLOAD = UploadKind(cards=PROVIDER, import_kind="provider",
                             list_label="Provider cards", render_detail=render_detail)
register(bp, PROVIDER_UPLOAD)
register_job_links("ratecards.import", _import_links)
