"""Bulk import of carriers from CSV: all rows or none (PRODUCT.md §5).

The operator maps carrier fields to the file's columns (``name=Carrier,currency=Cur``);
a column whose header equals a field name is mapped without being named. Besides the
carrier fields, a ``gateways`` column holds gateway specs separated by ``;`` or
spaces, each ``host[:port][/transport][,weight=N][,enabled=no]``.
Errors are keyed ``row N, column X``: N is the spreadsheet row (the header is row 1).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.carriers.models import Carrier
from orchestrator.carriers.schemas import (
    CarrierCreate,
    GatewayCreate,
    clean_carrier,
    clean_gateway,
)
from orchestrator.carriers.service import GATEWAY_DEFAULTS, duplicate_gateway, insert_carrier
from orchestrator.errors import ValidationFailed

CARRIER_FIELDS = tuple(f.name for f in fields(CarrierCreate))
IMPORT_FIELDS = (*CARRIER_FIELDS, "gateways")
DELIMITERS = ",;\t|"
MAX_ERRORS = 200  # problems listed; the rest are counted


def parse_gateway_spec(spec: str) -> GatewayCreate:
    """``host[:port][/transport][,weight=N][,enabled=yes|no]`` -> GatewayCreate.

    IPv6 with a port goes in brackets: ``[2001:db8::1]:5080/tcp``. The values are
    checked by the gateway rules when used; a malformed spec raises ValueError.
    """
    address, *options = [part.strip() for part in spec.strip().split(",")]
    values: dict[str, Any] = {}
    if "/" in address and "://" not in address:
        address, values["transport"] = address.rsplit("/", 1)
    if address.startswith("["):
        host, bracket, rest = address[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"{spec!r}: an IPv6 address with a port is written [addr]:port")
        if rest:
            values["port"] = rest[1:]
    elif address.count(":") == 1 and "://" not in address:
        host, values["port"] = address.split(":")
    else:
        host = address
    values["host"] = host
    for option in options:
        key, eq, value = option.partition("=")
        if not eq or key.strip() not in ("weight", "enabled"):
            raise ValueError(f"{spec!r}: unknown option {option!r}; use weight=N or "
                             "enabled=yes|no")
        values[key.strip()] = value.strip()
    return GatewayCreate.from_mapping(values)


def parse_mapping(spec: str) -> dict[str, str]:
    """``name=Carrier,currency=Cur`` -> {"name": "Carrier", "currency": "Cur"}."""
    mapping: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key, eq, column = item.partition("=")
        if not eq or not key.strip() or not column.strip():
            raise ValidationFailed.one("map", f"{item!r} is not field=column")
        mapping[key.strip()] = column.strip()
    return mapping


def read_csv(text: str, delimiter: str | None = None) -> tuple[list[str], list[list[str]]]:
    """Header and data rows; unless given, the delimiter is the one of , ; tab | that
    the header line holds most often."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise ValidationFailed.one("file", "is empty")
    if delimiter is not None:
        delimiter = {"\\t": "\t", "tab": "\t"}.get(delimiter, delimiter)
        if len(delimiter) != 1 or delimiter in "\"\r\n":
            raise ValidationFailed.one("delimiter", "must be one character (or tab)")
    else:  # the candidate the header line holds most often
        first_line = next(line for line in text.splitlines() if line.strip())
        delimiter = max(DELIMITERS, key=lambda d: (first_line.count(d), d == ","))
    try:
        rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter)
                if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise ValidationFailed.one("file", f"is not valid CSV: {exc}") from None
    header = [cell.strip() for cell in rows[0]]
    return header, rows[1:]


def _row_gateways(cell: str) -> tuple[list[dict[str, Any]], str]:
    """Cleaned gateways of one cell, or an error message naming the gateway."""
    gateways: list[dict[str, Any]] = []
    for number, spec in enumerate(filter(None, re.split(r"[;\s]+", cell.strip())), start=1):
        try:
            gateway = GATEWAY_DEFAULTS | clean_gateway(parse_gateway_spec(spec).given(),
                                                       create=True)
        except ValueError as exc:
            return [], f"gateway {number}: {exc}"
        except ValidationFailed as exc:
            return [], f"gateway {number} ({spec}): {exc}"
        gateways.append(gateway)
    duplicate = duplicate_gateway(gateways)
    if duplicate is not None:
        return [], f"gateway {duplicate[1] + 1} repeats gateway {duplicate[0] + 1}"
    return gateways, ""


@dataclass
class ImportResult:
    rows: int
    created: list[Carrier] = field(default_factory=list)  # empty on a dry run


def _columns(header: Sequence[str], mapping: Mapping[str, str]) -> dict[str, int]:
    errors: list[str] = []
    for key in mapping:
        if key not in IMPORT_FIELDS:
            errors.append(f"{key!r} is not a carrier field; fields: {', '.join(IMPORT_FIELDS)}")
    index = {name.lower(): i for i, name in enumerate(header)}
    columns: dict[str, int] = {}
    bad: set[str] = set()
    for name in IMPORT_FIELDS:
        column = mapping.get(name)
        if column is not None:
            if column.lower() not in index:
                bad.add(name)
                errors.append(f"{name}: column {column!r} is not in the header "
                              f"({', '.join(header)})")
            else:
                columns[name] = index[column.lower()]
        elif name.lower() in index:
            columns[name] = index[name.lower()]
    for required in ("name", "currency"):
        if required not in columns and required not in bad:
            errors.append(f"{required}: no column maps to it (use --map {required}=COLUMN)")
    if errors:
        raise ValidationFailed({"map": errors})
    return columns


def import_csv(session: Session, actor: Actor, text: str, *,
               mapping: Mapping[str, str] | None = None, delimiter: str | None = None,
               dry_run: bool = False) -> ImportResult:
    """Validate every row, then create all carriers (with their gateways) or none."""
    actor.require("write")
    header, rows = read_csv(text, delimiter)
    columns = _columns(header, mapping or {})
    taken = {name.lower(): "an existing carrier" for name in session.scalars(
        select(func.lower(Carrier.name)))}
    errors: dict[str, list[str]] = {}
    valid: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for number, row in enumerate(rows, start=2):
        def where(name: str, number: int = number) -> str:
            return f"row {number}, column {header[columns[name]]}"

        cells = {name: row[i].strip() if i < len(row) else "" for name, i in columns.items()}
        raw = {name: cells[name] or None for name in CARRIER_FIELDS if name in cells}
        row_errors: dict[str, list[str]] = {}
        try:
            values = clean_carrier(raw, create=True)
        except ValidationFailed as exc:
            values = {}
            for key, messages in exc.errors.items():
                row_errors.setdefault(where(key), []).extend(messages)
        gateways, message = _row_gateways(cells.get("gateways", ""))
        if message:
            row_errors[where("gateways")] = [message]
        name = values.get("name")
        if name:
            if name.lower() in taken:
                row_errors.setdefault(where("name"), []).append(
                    f"{name!r} is already used by {taken[name.lower()]}")
            else:
                taken[name.lower()] = f"row {number}"
        if row_errors:
            errors.update(row_errors)
        else:
            valid.append((values, gateways))
    if len(errors) > MAX_ERRORS:
        shown = dict(list(errors.items())[:MAX_ERRORS])
        shown["file"] = [f"{len(errors) - MAX_ERRORS} more problems not shown"]
        errors = shown
    if errors:
        raise ValidationFailed(errors)
    result = ImportResult(rows=len(valid))
    if not dry_run:
        result.created = [insert_carrier(session, actor, values, gateways)
                          for values, gateways in valid]
    return result
