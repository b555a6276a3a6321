"""Step 2 of an import: which column holds which field, and where the data starts.

A ``Mapping`` names, per field, a column by its 0-based index or by its header text
(case and surrounding blanks ignored), ``billing`` for one combined ``mcd/pulse``
column (``30/6``), and ``first_row``: the file's 1-based row number of the first
rate row. The header row is the row just above ``first_row`` (none when
``first_row`` is 1). ``guess_mapping`` / ``suggest_mapping`` pre-fill the wizard.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from orchestrator.ratecards.deck.errors import RowError
from orchestrator.ratecards.deck.table import RawTable

FIELDS = ("prefix", "name", "rate", "inter", "intra", "mcd", "pulse", "connect_fee",
          "status")
MAPPABLE = (*FIELDS, "billing")
REQUIRED = ("prefix", "rate")

Column = int | str


@dataclass(frozen=True)
class Mapping:
    columns: dict[str, Column] = field(default_factory=dict)  # field -> index | header
    first_row: int = 2

    @property
    def header_row(self) -> int | None:
        return self.first_row - 1 if self.first_row > 1 else None


@dataclass(frozen=True)
class ResolvedMapping:
    """A mapping checked against a table: field -> frame column index and label."""

    indexes: dict[str, int]
    labels: dict[str, str]
    first_row: int
    errors: list[RowError]


def _norm(text: str | None) -> str:
    return " ".join(re.sub(r"[_\-./()#:\[\]]+", " ", (text or "").lower()).split())


def header_labels(table: RawTable, mapping: Mapping) -> list[str]:
    """Per frame column: its header text, or ``column N`` when it has none."""
    header = table.cells(mapping.header_row) if mapping.header_row else []
    labels = []
    for j in range(table.width):
        text = header[j].strip() if j < len(header) else ""
        labels.append(text or table.column_label(j))
    return labels


def resolve(table: RawTable, mapping: Mapping) -> ResolvedMapping:
    """Check ``mapping`` against ``table``; every problem is a RowError naming the
    header row (or the first row without a header) and the field or column."""
    at = mapping.header_row or max(mapping.first_row, 1)
    errors: list[RowError] = []
    labels = header_labels(table, mapping)
    header = table.cells(mapping.header_row) if mapping.header_row else []
    by_text: dict[str, int] = {}
    for j, text in enumerate(header):
        by_text.setdefault(text.strip().lower(), j)
    indexes: dict[str, int] = {}
    for name, column in mapping.columns.items():
        if name not in MAPPABLE:
            errors.append(RowError(at, name, f"unknown field {name!r}"))
            continue
        if isinstance(column, bool):  # bool is an int: refuse it explicitly
            errors.append(RowError(at, name, "a column is an index or a header text"))
        elif isinstance(column, int):
            if 0 <= column < table.width:
                indexes[name] = column
            else:
                errors.append(RowError(at, name, f"column index {column} is outside "
                                                 f"the file's {table.width} columns"))
        elif column.strip().lower() in by_text:
            indexes[name] = by_text[column.strip().lower()]
        else:
            where = f"in row {mapping.header_row}" if mapping.header_row else \
                "(no header row: first_row is 1; map by column number)"
            errors.append(RowError(at, column, f"column {column!r} for {name} not found "
                                               f"{where}"))
    for name in REQUIRED:
        if name not in mapping.columns:
            errors.append(RowError(at, name, f"required column {name} is not mapped"))
    if "billing" in indexes and ("mcd" in indexes or "pulse" in indexes):
        errors.append(RowError(at, labels[indexes["billing"]],
                               "map either billing (30/6) or mcd and pulse, not both"))
    if mapping.first_row < 1:
        errors.append(RowError(mapping.first_row, "", "the first data row is row 1 or "
                                                      "later"))
    return ResolvedMapping(indexes=indexes,
                           labels={name: labels[j] for name, j in indexes.items()},
                           first_row=mapping.first_row, errors=errors)


# ---------------------------------------------------------------- guessing

_EXACT = {
    "prefix": {"prefix", "prefixes", "code", "codes", "dial code", "dialcode",
               "dial codes", "dialing code", "dialling code", "destination code",
               "dial prefix", "route code", "e164", "e 164"},
    "name": {"name", "destination", "description", "country", "destination name",
             "dest", "zone", "area", "country name", "region"},
    "rate": {"rate", "price", "cost", "per minute", "rate per minute", "price per minute",
             "cost per minute", "rate min", "price min", "cost min", "per min",
             "indeterminate", "indeterminate rate", "intl rate", "international rate",
             "new rate", "current rate", "tariff"},
    "inter": {"inter", "interstate", "inter rate", "interstate rate", "inter state"},
    "intra": {"intra", "intrastate", "intra rate", "intrastate rate", "intra state"},
    "mcd": {"mcd", "min duration", "minimum duration", "minimum", "min", "initial",
            "initial interval", "initial increment", "first interval", "first increment",
            "minimum charge duration", "min increment", "initial period"},
    "pulse": {"pulse", "increment", "increments", "interval", "next interval",
              "billing interval", "billing increment", "subsequent increment",
              "additional increment", "next increment", "subsequent interval", "period"},
    "billing": {"billing", "billing terms", "mcd pulse", "billing unit", "billing units"},
    "connect_fee": {"connect", "connect fee", "connection fee", "connection",
                    "connection_fee", "setup", "setup fee", "connection charge",
                    "connect charge", "connection cost", "cf"},
    "status": {"status", "state", "active", "blocked"},
}
# Keyword pass for headers the exact pass did not place, most specific first.
_KEYWORDS: tuple[tuple[str, frozenset[str]], ...] = (
    ("inter", frozenset({"inter", "interstate"})),
    ("intra", frozenset({"intra", "intrastate"})),
    ("connect_fee", frozenset({"connect", "connection", "setup"})),
    ("rate", frozenset({"rate", "price", "cost", "tariff"})),
    ("mcd", frozenset({"mcd", "minimum", "initial", "first"})),
    ("pulse", frozenset({"pulse", "increment", "increments", "interval", "next",
                         "subsequent"})),
    ("billing", frozenset({"billing"})),
    ("status", frozenset({"status"})),
    ("prefix", frozenset({"prefix", "code", "codes", "dialcode", "prefixes"})),
    ("name", frozenset({"name", "destination", "description", "country", "zone"})),
)


def guess_mapping(header: Sequence[str | None]) -> dict[str, int]:
    """Field -> 0-based column index guessed from a header row's texts. Each field
    and each column is used at most once; the leftmost column wins."""
    found: dict[str, int] = {}
    used: set[int] = set()
    normalised = [_norm(text) for text in header]
    for j, text in enumerate(header):
        raw = text or ""
        # "MCD/Pulse", "Billing 30/6", "Increment (1/1)": one combined column.
        combined = "/" in raw and "rate" not in raw.lower() and re.search(
            r"mcd|min|initial|pulse|incr|interval|billing", raw, re.IGNORECASE)
        if combined and "billing" not in found:
            found["billing"] = j
            used.add(j)
    for j, text in enumerate(normalised):
        if j in used:
            continue
        for name, names in _EXACT.items():
            if name not in found and text in names:
                found[name] = j
                used.add(j)
                break
    for j, text in enumerate(normalised):
        if j in used or not text:
            continue
        tokens = set(text.split())
        for name, words in _KEYWORDS:
            if name not in found and tokens & words:
                found[name] = j
                used.add(j)
                break
    if "billing" in found and ("mcd" in found or "pulse" in found):
        del found["billing"]
    return found


_COMBINED = re.compile(r"^\s*\d+\s*/\s*\d+\s*$")


def _billing_by_values(guessed: dict[str, int], samples: pl.DataFrame) -> dict[str, int]:
    """A column guessed as mcd or pulse whose values read ``30/6`` is the combined
    billing column ("Increment: 60/60")."""
    if "billing" in guessed or samples.height == 0:
        return guessed
    for name in ("mcd", "pulse"):
        j = guessed.get(name)
        if j is None:
            continue
        values = [v for v in samples.to_series(j).to_list() if v and v.strip()]
        if values and all(_COMBINED.match(v) for v in values):
            out = {k: v for k, v in guessed.items() if k not in ("mcd", "pulse")}
            out["billing"] = j
            return out
    return guessed


def suggest_mapping(table: RawTable, scan_rows: int = 20) -> Mapping:
    """The wizard's starting point: the first of the first ``scan_rows`` rows whose
    texts name both a prefix and a rate column is the header; data starts below it.
    Without one, data starts at the first row whose first cell is digits."""
    for index, values in enumerate(table.frame.head(scan_rows).iter_rows()):
        guessed = guess_mapping([v for v in values])
        if "prefix" in guessed and "rate" in guessed:
            first_row = table.row_number(index) + 1
            samples = table.frame.slice(index + 1, scan_rows)
            return Mapping(columns=dict(_billing_by_values(guessed, samples)), first_row=first_row)
    for index, values in enumerate(table.frame.head(scan_rows).iter_rows()):
        first = (values[0] or "").strip() if values else ""
        if first.isdigit():
            return Mapping(columns={}, first_row=table.row_number(index))
    return Mapping(columns={}, first_row=table.row_number(0))
