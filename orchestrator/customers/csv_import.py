"""Bulk import of customers from CSV: column mapping, header row, preview, all or nothing.

``mapping`` maps a CSV column (its header text, or its 1-based number as a string when
the file has no header row) to a customer field. ``defaults`` gives fields that no
column provides (e.g. currency for every row). Every row is validated first; one bad
row imports nothing, and the errors name the row (record number in the file, the
header row counting as one) and the column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.customers import service
from orchestrator.customers.models import Customer
from orchestrator.customers.validation import CUSTOMER_FIELDS, Errors, clean_customer
from orchestrator.errors import ValidationFailed

MAX_ROWS = 100_000
MAX_ERRORS = 500
DELIMITERS = ",;\t|"


@dataclass(frozen=True)
class CsvTable:
    columns: list[str]
    rows: list[tuple[int, list[str]]]  # (row number in the file, cells)
    delimiter: str


@dataclass(frozen=True)
class ImportPreview:
    columns: list[str]
    delimiter: str
    row_count: int
    rows: list[dict[str, str]]  # the first rows, column -> cell
    mapped: list[dict[str, str]]  # the same rows, field -> cell
    errors: dict[str, list[str]] = field(default_factory=dict)  # whole file


@dataclass(frozen=True)
class ImportResult:
    row_count: int
    created: list[Customer]  # empty on a dry run


def _decode(content: str | bytes) -> str:
    if isinstance(content, str):
        return content
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return content.decode("latin-1")


def read_csv(content: str | bytes, *, header_row: int | None = 1,
             delimiter: str | None = None) -> CsvTable:
    """Parse the file; rows before ``header_row`` (1-based) are skipped, None = no header."""
    text = _decode(content)
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:8192], delimiters=DELIMITERS).delimiter
        except csv.Error:
            delimiter = ","
    if len(delimiter) != 1:
        raise ValidationFailed.one("delimiter", "must be one character")
    if header_row is not None and header_row < 1:
        raise ValidationFailed.one("header_row", "must be 1 or more (or no header)")
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise ValidationFailed.one("file", f"not readable as CSV: {exc}") from None
    start = header_row or 0
    if header_row is not None:
        if len(records) < header_row:
            raise ValidationFailed.one("header_row", f"the file has only {len(records)} rows")
        columns = [c.strip() for c in records[header_row - 1]]
        seen = [c for i, c in enumerate(columns) if c and c in columns[:i]]
        if seen:
            raise ValidationFailed.one("header_row", f"column {seen[0]!r} appears twice")
    else:
        width = max((len(r) for r in records), default=0)
        columns = [str(i + 1) for i in range(width)]
    rows = [(number, cells) for number, cells in enumerate(records[start:], start + 1)
            if any(c.strip() for c in cells)]
    if len(rows) > MAX_ROWS:
        raise ValidationFailed.one("file", f"has {len(rows)} rows; at most {MAX_ROWS} at once")
    return CsvTable(columns, rows, delimiter)


def _check_mapping(table: CsvTable, mapping: Mapping[str, str],
                   defaults: Mapping[str, Any]) -> None:
    errors = Errors()
    fields_seen: dict[str, str] = {}
    for column, target in mapping.items():
        if column not in table.columns:
            errors.add("mapping", f"no column {column!r} in the file; columns: "
                       f"{', '.join(table.columns)}")
        if target not in CUSTOMER_FIELDS:
            errors.add("mapping", f"{target!r} is not a customer field")
        elif target in fields_seen:
            errors.add("mapping", f"{target} is mapped from both {fields_seen[target]!r} "
                       f"and {column!r}")
        fields_seen[target] = column
    for target in ("name", "currency"):
        if target not in fields_seen and target not in defaults:
            errors.add("mapping", f"{target} is required: map a column to it"
                       + (" or give a default" if target != "name" else ""))
    for target in defaults:
        if target in fields_seen:
            errors.add("defaults", f"{target} is both mapped and given a default")
    try:
        clean_customer(defaults, partial=True)
    except ValidationFailed as exc:
        for target, messages in exc.errors.items():
            for message in messages:
                errors.add(f"default {target}", message)
    errors.check()


def _row_data(cells: list[str], table: CsvTable, mapping: Mapping[str, str],
              defaults: Mapping[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = dict(defaults)
    for column, target in mapping.items():
        index = table.columns.index(column)
        value = cells[index].strip() if index < len(cells) else ""
        if value:
            data[target] = value
    return data


def validate_rows(session: Session, table: CsvTable, mapping: Mapping[str, str],
                  defaults: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Cleaned values of every row, or ValidationFailed naming each bad row and column."""
    _check_mapping(table, mapping, defaults)
    column_of = {target: column for column, target in mapping.items()}
    errors = Errors()
    cleaned: list[dict[str, Any]] = []
    first_row_of: dict[str, int] = {}
    for number, cells in table.rows:
        try:
            values = clean_customer(_row_data(cells, table, mapping, defaults))
        except ValidationFailed as exc:
            for target, messages in exc.errors.items():
                where = f"column {column_of[target]}" if target in column_of else \
                    f"default {target}"
                for message in messages:
                    errors.add(f"row {number}, {where}", message)
            continue
        key = values["name"].lower()
        if key in first_row_of:
            errors.add(f"row {number}, column {column_of['name']}",
                       f"name {values['name']!r} duplicates row {first_row_of[key]}")
        else:
            first_row_of[key] = number
        cleaned.append(values)
    lowered = list(first_row_of)
    for start in range(0, len(lowered), 500):
        chunk = lowered[start:start + 500]
        for existing in session.scalars(select(Customer.name).where(
                func.lower(Customer.name).in_(chunk))):
            number = first_row_of[existing.lower()]
            errors.add(f"row {number}, column {column_of['name']}",
                       f"a customer named {existing!r} already exists")
    if errors.errors:
        items = sorted(errors.errors.items(), key=lambda kv: int(kv[0].split()[1].rstrip(","))
                       if kv[0].startswith("row ") else 0)
        shown = dict(items[:MAX_ERRORS])
        if len(items) > MAX_ERRORS:
            shown["more"] = [f"{len(items) - MAX_ERRORS} more rows with errors not shown"]
        raise ValidationFailed(shown)
    return cleaned


def preview_import(session: Session, actor: Actor, content: str | bytes,
                   mapping: Mapping[str, str] | None = None, *, header_row: int | None = 1,
                   delimiter: str | None = None, defaults: Mapping[str, Any] | None = None,
                   limit: int = 10) -> ImportPreview:
    """Columns and first rows of the file; with a mapping, also every error of the file."""
    actor.require("read")
    table = read_csv(content, header_row=header_row, delimiter=delimiter)
    mapping = mapping or {}
    first = table.rows[:limit]
    rows = [dict(zip(table.columns, cells, strict=False)) for _, cells in first]
    mapped = [{t: row.get(c, "") for c, t in mapping.items()} for row in rows]
    errors: dict[str, list[str]] = {}
    if mapping:
        try:
            validate_rows(session, table, mapping, defaults or {})
        except ValidationFailed as exc:
            errors = exc.errors
    return ImportPreview(table.columns, table.delimiter, len(table.rows), rows, mapped, errors)


def import_customers(session: Session, actor: Actor, content: str | bytes,
                     mapping: Mapping[str, str], *, header_row: int | None = 1,
                     delimiter: str | None = None, defaults: Mapping[str, Any] | None = None,
                     dry_run: bool = False) -> ImportResult:
    """Create a customer per row, all in the caller's transaction, or none at all."""
    actor.require("write")
    table = read_csv(content, header_row=header_row, delimiter=delimiter)
    if not table.rows:
        raise ValidationFailed.one("file", "has no data rows")
    cleaned = validate_rows(session, table, mapping, defaults or {})
    if dry_run:
        return ImportResult(len(cleaned), [])
    created = [service.new_customer(values) for values in cleaned]
    session.add_all(created)
    session.flush()
    for customer in created:
        audit.record(session, actor, "create", service.OBJECT_TYPE, customer.id,
                     f"customer {customer.name} created by CSV import",
                     after=service.audit_view(customer))
    return ImportResult(len(created), created)
