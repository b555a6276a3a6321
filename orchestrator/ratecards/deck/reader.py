"""Step 1 of an import: the bytes of an uploaded deck -> a table of strings.

Nothing is interpreted here: every cell stays text (``Utf8``), the header row stays
a data row (the wizard shows the first rows and the user picks the first data row),
and the frame's columns are named ``column_1 .. column_n``. What was detected
(format, encoding, delimiter, sheet) is returned so that the wizard can show it and
the user can override it.

Formats:

* CSV: encoding from a BOM, else strict UTF-8, else charset-normalizer on the first
  64 KiB; delimiter sniffed among ``, ; TAB |`` on the first 64 KiB. Quotes are
  honoured, CRLF and a BOM are fine. A blank line stays an (empty) row so that row
  numbers remain those of the file.
* XLSX (and legacy XLS): fastexcel (calamine), first sheet unless one is chosen
  (``xlsx_reader.py``).
* Open Rate Card JSON (https://github.com/connexcs/open-rate-card, schema 1.0.0): one
  card of ``cards`` (``sheet`` chooses it by key; default: the first card with
  ``rates``). Row 1 is the card's ``fields`` names, row ``k + 2`` is ``rates[k]``.
  The simpler ``{"currency", "rates": [{"prefix": .., ...}]}`` (objects instead of
  arrays) is read too. JSON numbers are kept as their exact source text.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections import Counter
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl

from orchestrator.ratecards.deck.errors import DeckError
from orchestrator.ratecards.deck.table import RawTable
from orchestrator.ratecards.deck.xlsx_reader import OLE_MAGIC, ZIP_MAGIC, read_spreadsheet

FORMATS = ("auto", "csv", "xlsx", "orc")
DELIMITERS = (",", ";", "\t", "|")
SNIFF_BYTES = 64 * 1024

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def read_deck(data: bytes, *, format: str = "auto", encoding: str | None = None,
              delimiter: str | None = None, sheet: str | int | None = None) -> RawTable:
    """Read an uploaded deck. Raises DeckError (user-facing message) when the input
    is not a table: 0 bytes, blank, binary, undecodable, malformed."""
    if format not in FORMATS:
        raise DeckError(f"Unknown format {format!r}: choose one of {', '.join(FORMATS)}.")
    if not data:
        raise DeckError("The file is empty (0 bytes).")
    if format == "auto":
        format = detect_format(data)
    if format == "xlsx":
        return read_spreadsheet(data, sheet)
    if format == "orc":
        return _read_orc(data, encoding, sheet)
    return _read_csv(data, encoding, delimiter)


def detect_format(data: bytes) -> str:
    """``xlsx`` for a zip or OLE (xls) container, ``orc`` for a JSON object, else
    ``csv``."""
    if data.startswith(ZIP_MAGIC) or data.startswith(OLE_MAGIC):
        return "xlsx"
    head = data[:SNIFF_BYTES]
    for bom, name in _BOMS:
        if head.startswith(bom):
            try:
                head_text = head.decode(name, errors="ignore")
            except LookupError:  # pragma: no cover - codecs are built in
                head_text = ""
            return "orc" if head_text.lstrip("\ufeff \t\r\n").startswith("{") else "csv"
    return "orc" if head.lstrip(b" \t\r\n").startswith(b"{") else "csv"


# ---------------------------------------------------------------- text / CSV

def detect_encoding(data: bytes) -> str:
    """BOM, else strict UTF-8, else charset-normalizer's best guess. Raises DeckError
    for binary input."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    sample = data[:SNIFF_BYTES]
    if b"\x00" in sample:
        raise DeckError("This is a binary file, not a CSV, XLSX or JSON rate deck.")
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None:
        raise DeckError("This is a binary file, not a CSV, XLSX or JSON rate deck "
                        "(no text encoding fits it).")
    return str(best.encoding)


def _decode(data: bytes, encoding: str | None) -> tuple[str, str]:
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise DeckError(f"Unknown encoding {encoding!r}.") from None
    name = encoding or detect_encoding(data)
    try:
        text = data.decode(name)
    except UnicodeDecodeError as exc:
        raise DeckError(f"The file cannot be decoded as {name} (byte {exc.start + 1} "
                        f"is invalid); choose its encoding.") from None
    text = text.removeprefix("\ufeff")
    sample = text[:SNIFF_BYTES]
    if "\x00" in sample or len(_CONTROL.findall(sample)) > max(8, len(sample) // 100):
        raise DeckError("This is a binary file, not a CSV, XLSX or JSON rate deck.")
    if not text.strip():
        raise DeckError("The file contains no data (only blank space).")
    return text, name


def _sample_lines(text: str) -> list[str]:
    sample = text[:SNIFF_BYTES]
    lines = sample.splitlines()
    if len(text) > SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last one is cut
    return [line for line in lines if line.strip()]


def _field_counts(lines: list[str], delimiter: str) -> list[int]:
    return [len(row) for row in csv.reader(lines, delimiter=delimiter, quotechar='"')]


def sniff_delimiter(text: str) -> str:
    """The delimiter among ``, ; TAB |`` that splits the first lines most
    consistently into the most columns (``,`` when none splits anything)."""
    lines = _sample_lines(text)
    best, best_score = ",", (0.0, 1)
    for candidate in DELIMITERS:
        if not any(candidate in line for line in lines):
            continue
        counts = _field_counts(lines, candidate)
        mode, freq = Counter(counts).most_common(1)[0]
        if mode < 2:
            continue
        score = (freq / len(counts), mode)
        if score > best_score:
            best, best_score = candidate, score
    return best


def _read_csv(data: bytes, encoding: str | None, delimiter: str | None) -> RawTable:
    text, name = _decode(data, encoding)
    if delimiter is None:
        delimiter = sniff_delimiter(text)
    elif len(delimiter) != 1 or delimiter in "\r\n\"":
        raise DeckError("The delimiter must be one character (not a quote or line end).")
    width = max(_field_counts(_sample_lines(text), delimiter) or [1])
    plain_utf8 = name == "utf-8" and not data.startswith(codecs.BOM_UTF8)
    raw = data if plain_utf8 else text.encode("utf-8")
    schema = {f"column_{i}": pl.String for i in range(1, width + 1)}
    try:
        frame = pl.read_csv(io.BytesIO(raw), has_header=False, separator=delimiter,
                            quote_char='"', schema=schema, missing_columns="insert",
                            truncate_ragged_lines=True, raise_if_empty=False)
    except pl.exceptions.PolarsError as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DeckError(f"The file is not a readable CSV ({detail}); check its quotes: "
                        f"a quote not closed, or text after a closing quote.") from None
    if frame.height == 0:
        raise DeckError("The file contains no rows.")
    return RawTable(frame=frame, format="csv", encoding=name, delimiter=delimiter)


# ---------------------------------------------------------------- spreadsheets

# ---------------------------------------------------------------- Open Rate Card

def _json_number(text: str) -> str:
    if "e" in text or "E" in text:
        try:
            return format(Decimal(text), "f")
        except InvalidOperation:  # pragma: no cover - json only passes numbers
            return text
    return text


def _cell(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"))


def _read_orc(data: bytes, encoding: str | None, sheet: str | int | None) -> RawTable:
    text, _name = _decode(data, encoding)
    try:
        document = json.loads(text, parse_float=_json_number, parse_int=_json_number)
    except json.JSONDecodeError as exc:
        raise DeckError(f"The file is not valid JSON: {exc.msg} at line {exc.lineno}, "
                        f"column {exc.colno}.") from None
    if not isinstance(document, dict):
        raise DeckError("An Open Rate Card file is a JSON object.")
    cards: dict[str, Any]
    if isinstance(document.get("cards"), dict):
        cards = {str(k): v for k, v in document["cards"].items() if isinstance(v, dict)}
    elif "rates" in document:
        cards = {"default": document}
    else:
        raise DeckError("The JSON has no \"cards\" (Open Rate Card) and no \"rates\".")
    names = tuple(cards)
    with_rates = [k for k, v in cards.items() if isinstance(v.get("rates"), list)]
    if sheet is None:
        if not with_rates:
            raise DeckError("No card in this Open Rate Card file has \"rates\".")
        key = next((k for k in with_rates if cards[k].get("type") == "termination"),
                   with_rates[0])
    else:
        key = names[sheet] if isinstance(sheet, int) and 0 <= sheet < len(names) else str(sheet)
        if key not in cards:
            raise DeckError(f"The file has no card {sheet!r} (cards: {', '.join(names)}).")
    card = cards[key]
    rates = card.get("rates")
    if not isinstance(rates, list) or not rates:
        raise DeckError(f"Card {key!r} has no rates.")
    header: list[str]
    rows: list[list[Any]]
    if all(isinstance(r, dict) for r in rates):
        header = list(dict.fromkeys(k for r in rates for k in r))
        rows = [[r.get(k) for k in header] for r in rates]
    else:
        fields = card.get("fields")
        if not isinstance(fields, list):
            raise DeckError(f"Card {key!r} has \"rates\" arrays but no \"fields\".")
        header = [str(f.get("name", "")) if isinstance(f, dict) else str(f) for f in fields]
        for position, r in enumerate(rates):
            if not isinstance(r, list):
                raise DeckError(f"Card {key!r}: rates[{position}] is not an array.")
        rows = rates
    width = max(len(header), *(len(r) for r in rows))
    header += [""] * (width - len(header))
    if any(len(r) != width for r in rows):
        rows = [r + [None] * (width - len(r)) for r in rows]
    series = {}
    for j, values in enumerate(zip(*rows, strict=True)):
        column = [header[j], *values]
        if not all(v is None or type(v) is str for v in values):
            column = [_cell(v) for v in column]
        series[f"column_{j + 1}"] = pl.Series(column, dtype=pl.String)
    frame = pl.DataFrame(series)
    defaults: dict[str, str] = {}
    settings = card.get("rate")
    if isinstance(settings, dict):
        for source, target in (("default_initial", "mcd"), ("default_pulse", "pulse"),
                               ("connection", "connect_fee")):
            if settings.get(source) is not None:
                defaults[target] = str(_cell(settings[source]))
    currency = card.get("currency", document.get("currency"))
    return RawTable(frame=frame, format="orc", encoding=_name, sheet=key, sheets=names,
                    currency=str(currency) if currency is not None else None,
                    defaults=defaults)
