"""Bulk import of customers from a CSV file: upload, columns, preview, import.

The wizard is a face on ``orchestrator.customers.csv_import`` (the service the CLI's
``orchestrator customers import`` calls): the service reads the file, checks the
mapping and every row, and creates all rows or none, with the audit entries.

The uploaded file stays on the server between the steps (``import_store``); only
a random token is kept in the session cookie.
"""

from __future__ import annotations

import csv
import io
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Response, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from orchestrator.customers import csv_import
from orchestrator.customers.validation import CUSTOMER_FIELDS, clean_customer
from orchestrator.errors import ValidationFailed
from webui.auth import login_required
from webui.customers.common import bp, require_write
from webui.customers.import_columns import EXAMPLE_ROW, FIELD_LABELS, guess_mapping
from webui.customers.import_store import (
    SESSION_KEY,
    Upload,
    check_content,
    discard,
    load,
    sweep,
    upload_dir,
    write_meta,
)
from webui.db import db

MAX_BYTES = 10 * 1024 * 1024
SAMPLE_ROWS = 3
PREVIEW_ROWS = 10
# The fields csv_import requires (name always from a column; currency from a column
# or one value for every row).
REQUIRED = ("name", "currency")

def _gone() -> ResponseReturnValue:
    session.pop(SESSION_KEY, None)
    flash("The uploaded file is no longer available (uploads are kept for an hour): "
          "upload it again.", "error")
    return redirect(url_for("customers.import_upload"))


# -- step 1: upload ------------------------------------------------------------------


def _upload_page(errors: list[str], header: bool, status: int = 200) -> ResponseReturnValue:
    page = render_template("customers/import_upload.html", errors=errors, header=header,
                           max_bytes=MAX_BYTES, max_mb=MAX_BYTES // (1024 * 1024),
                           max_rows=csv_import.MAX_ROWS, labels=FIELD_LABELS,
                           required=REQUIRED)
    return page, status


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    return f"{n / 1024:.0f} kB" if n >= 1024 else f"{n} bytes"


@bp.route("/customers/import", methods=["GET", "POST"])
@login_required
def import_upload() -> ResponseReturnValue:
    who = require_write()
    sweep()
    if request.method == "GET":
        return _upload_page([], header=True)
    header = "header" in request.form
    too_big = (f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB, the most that can "
               "be imported at once: split it into smaller files.")
    if request.content_length and request.content_length > MAX_BYTES + 64 * 1024:
        return _upload_page([f"The upload is {_size(request.content_length)}. {too_big}"],
                            header, 413)
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        return _upload_page(["Choose a CSV file to upload."], header, 422)
    content = sent.stream.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        return _upload_page([too_big], header, 413)
    encoding, problem = check_content(content)
    if problem:
        return _upload_page([problem], header, 422)
    try:
        table = csv_import.read_csv(content, header_row=1 if header else None)
    except ValidationFailed as exc:
        return _upload_page([f"{where}: {message}" for where, messages in exc.errors.items()
                             for message in messages], header, 422)
    if not table.rows:
        return _upload_page(["The file has no data rows"
                             + (" under its header row." if header else ".")], header, 422)
    discard(session.get(SESSION_KEY))
    token = secrets.token_urlsafe(24)
    (upload_dir() / f"{token}.csv").write_bytes(content)
    write_meta(Upload(token=token, user_id=who.user_id or 0,
                       filename=Path(sent.filename).name[:200], size=len(content),
                       header=header, encoding=encoding, created=time.time()))
    session[SESSION_KEY] = token
    return redirect(url_for("customers.import_mapping"))


# -- step 2: columns -----------------------------------------------------------------


@dataclass
class ColumnView:
    index: int
    name: str  # as the service names it: header text, or "1", "2", ... without header
    title: str  # as shown
    samples: list[str]
    mappable: bool


def _columns(table: csv_import.CsvTable, header: bool) -> list[ColumnView]:
    first = table.rows[:SAMPLE_ROWS]
    views = []
    for index, name in enumerate(table.columns):
        samples = [cells[index].strip() for _, cells in first if index < len(cells)]
        untitled = f"(column {index + 1} has no name)"
        title = (name or untitled) if header else f"Column {name}"
        views.append(ColumnView(index, name, title, samples, mappable=bool(name)))
    return views


def mapping_problems(columns: list[ColumnView], mapping: dict[str, str],
                     defaults: dict[str, str]) -> tuple[list[str], dict[str, list[str]]]:
    """(messages for the whole mapping, messages per input) of a chosen mapping.

    Inputs are ``map-<column index>`` and ``default-<field>``. The whole-mapping
    messages are the service's own check (csv_import.validate_rows on no rows).
    """
    inline: dict[str, list[str]] = {}
    by_field: dict[str, list[ColumnView]] = {}
    for column in columns:
        if column.name in mapping:
            by_field.setdefault(mapping[column.name], []).append(column)
    for target, chosen in by_field.items():
        if len(chosen) > 1:
            for column in chosen:
                others = ", ".join(c.title for c in chosen if c is not column)
                inline.setdefault(f"map-{column.index}", []).append(
                    f"{FIELD_LABELS.get(target, target)} is also chosen for {others}: "
                    "choose it once.")
    if "currency" in defaults and "currency" in by_field:
        inline.setdefault("default-currency", []).append(
            "A column gives the currency: leave this empty or set that column to ignore.")
    overall: list[str] = []
    empty = csv_import.CsvTable([c.name for c in columns], [], ",")
    try:
        csv_import.validate_rows(db(), empty, mapping, defaults)
    except ValidationFailed as exc:
        for where, messages in exc.errors.items():
            for message in messages:
                if where.startswith("default "):
                    name = where.removeprefix("default ")
                    inline.setdefault(f"default-{name}", []).append(message)
                    overall.append(f"{FIELD_LABELS.get(name, name)} for every row: {message}")
                else:
                    overall.append(message)
    return overall, inline


def _mapping_page(upload: Upload, table: csv_import.CsvTable, mapping: dict[str, str],
                  defaults: dict[str, str], overall: list[str], inline: dict[str, list[str]],
                  status: int = 200) -> ResponseReturnValue:
    mapped = set(mapping.values()) | set(defaults)
    page = render_template("customers/import_mapping.html", upload=upload,
                           columns=_columns(table, upload.header), mapping=mapping,
                           defaults=defaults, row_count=len(table.rows),
                           delimiter={"\t": "tab"}.get(table.delimiter, table.delimiter),
                           fields=CUSTOMER_FIELDS, labels=FIELD_LABELS, required=REQUIRED,
                           missing=[f for f in REQUIRED if f not in mapped],
                           overall=overall, inline=inline, size=_size(upload.size))
    return page, status


@bp.route("/customers/import/columns", methods=["GET", "POST"])
@login_required
def import_mapping() -> ResponseReturnValue:
    who = require_write()
    sweep()
    loaded = load(who.user_id)
    if loaded is None:
        return _gone()
    upload, content = loaded
    table = csv_import.read_csv(content, header_row=upload.header_row)
    columns = _columns(table, upload.header)
    if request.method == "GET":
        if upload.mapping is None:
            mapping = guess_mapping([c.name for c in columns if c.mappable])
        else:
            mapping = upload.mapping
        return _mapping_page(upload, table, mapping, upload.defaults, [], {})
    mapping = {}
    for column in columns:
        target = request.form.get(f"map-{column.index}", "")
        if target and column.mappable:
            mapping[column.name] = target
    defaults = {}
    currency = request.form.get("default-currency", "").strip()
    if currency:
        defaults["currency"] = currency
    overall, inline = mapping_problems(columns, mapping, defaults)
    if overall or inline:
        return _mapping_page(upload, table, mapping, defaults, overall, inline, 422)
    upload.mapping, upload.defaults = mapping, defaults
    write_meta(upload)
    return redirect(url_for("customers.import_preview"))


# -- step 3: preview, step 4: import ------------------------------------------------------


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list):
        return " / ".join(str(v) for v in value)
    return str(value)


def preview_rows(table: csv_import.CsvTable, mapping: dict[str, str],
                 defaults: dict[str, str], limit: int) -> list[tuple[int, dict[str, str], bool]]:
    """(row number, field -> value as it will be stored, whether the row is good)."""
    out = []
    for number, cells in table.rows[:limit]:
        data: dict[str, Any] = dict(defaults)
        for index, column in enumerate(table.columns):
            value = cells[index].strip() if index < len(cells) else ""
            if column in mapping and value:
                data[mapping[column]] = value
        try:
            cleaned = clean_customer(data)
        except ValidationFailed:
            out.append((number, {k: str(v) for k, v in data.items()}, False))
            continue
        out.append((number, {k: _shown(v) for k, v in cleaned.items() if k in data}, True))
    return out


def _error_lines(errors: dict[str, list[str]]) -> list[str]:
    """"row 3, column Mail: must be an email address", as the service names them."""
    lines = []
    for where, messages in errors.items():
        for message in messages:
            if where == "more":
                lines.append(message)
            elif where == "mapping":
                lines.append(f"columns: {message}")
            else:
                lines.append(f"{where}: {message}")
    return lines


@bp.route("/customers/import/preview", methods=["GET"])
@login_required
def import_preview() -> ResponseReturnValue:
    who = require_write()
    sweep()
    loaded = load(who.user_id)
    if loaded is None:
        return _gone()
    upload, content = loaded
    if upload.mapping is None:
        return redirect(url_for("customers.import_mapping"))
    preview = csv_import.preview_import(db(), who, content, upload.mapping,
                                        header_row=upload.header_row,
                                        defaults=upload.defaults, limit=PREVIEW_ROWS)
    table = csv_import.read_csv(content, header_row=upload.header_row)
    shown = [f for f in CUSTOMER_FIELDS
             if f in upload.mapping.values() or f in upload.defaults]
    errors = _error_lines(preview.errors)
    page = render_template("customers/import_preview.html", upload=upload,
                           row_count=preview.row_count, errors=errors,
                           rows=preview_rows(table, upload.mapping, upload.defaults,
                                             PREVIEW_ROWS),
                           fields=shown, labels=FIELD_LABELS,
                           column_of={f: c for c, f in upload.mapping.items()},
                           can_import=not errors and preview.row_count > 0)
    return page, (422 if errors else 200)


@bp.route("/customers/import/run", methods=["POST"])
@login_required
def import_confirm() -> ResponseReturnValue:
    who = require_write()
    loaded = load(who.user_id)
    if loaded is None:
        return _gone()
    upload, content = loaded
    if request.form.get("token") != upload.token:
        flash("Another file was uploaded since that page was shown: check this preview "
              "and import again.", "error")
        return redirect(url_for("customers.import_preview"))
    if upload.mapping is None:
        return redirect(url_for("customers.import_mapping"))
    try:
        result = csv_import.import_customers(db(), who, content, upload.mapping,
                                             header_row=upload.header_row,
                                             defaults=upload.defaults)
    except ValidationFailed:
        db().rollback()
        flash("Nothing was imported: the file has errors, listed below.", "error")
        return redirect(url_for("customers.import_preview"))
    db().commit()  # before the file goes: a failed commit leaves it for another try
    discard(upload.token)
    session.pop(SESSION_KEY, None)
    noun = "customer" if result.row_count == 1 else "customers"
    flash(f"Imported {result.row_count} {noun}.", "info")
    return redirect(url_for("customers.index"))


@bp.route("/customers/import/cancel", methods=["POST"])
@login_required
def import_cancel() -> ResponseReturnValue:
    require_write()
    discard(session.pop(SESSION_KEY, None))
    flash("Import cancelled: nothing was imported.", "info")
    return redirect(url_for("customers.index"))


@bp.route("/customers/import/template.csv", methods=["GET"])
@login_required
def import_template() -> ResponseReturnValue:
    """An example file with every importable column and one row."""
    require_write()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CUSTOMER_FIELDS)
    writer.writerow([EXAMPLE_ROW[f] for f in CUSTOMER_FIELDS])
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="customers-import-template.csv"'})
