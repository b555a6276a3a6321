"""XLSX (and legacy XLS) decks: fastexcel (calamine), first sheet unless one is chosen.

Calamine skips leading empty rows and columns; ``row_offset`` / ``column_offset`` put
the sheet's own row and column numbers back (read from the sheet's XML).
"""

from __future__ import annotations

import io
import re
import zipfile

import polars as pl

from orchestrator.ratecards.deck.errors import DeckError
from orchestrator.ratecards.deck.table import RawTable

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls


def read_spreadsheet(data: bytes, sheet: str | int | None) -> RawTable:
    import fastexcel

    try:
        reader = fastexcel.read_excel(data)
        names = tuple(reader.sheet_names)
    except Exception as exc:  # calamine raises its own types
        raise DeckError(f"The file is not a readable XLSX/XLS workbook ({exc}).") from None
    if not names:
        raise DeckError("The workbook has no sheets.")
    if sheet is None:
        index = 0
    elif isinstance(sheet, int):
        index = sheet
    elif sheet in names:
        index = names.index(sheet)
    else:
        raise DeckError(f"The workbook has no sheet {sheet!r} (sheets: {', '.join(names)}).")
    if not 0 <= index < len(names):
        raise DeckError(f"The workbook has no sheet number {index + 1}.")
    try:
        frame = reader.load_sheet(index, header_row=None, dtypes="string").to_polars()
    except Exception as exc:
        raise DeckError(f"Sheet {names[index]!r} cannot be read ({exc}).") from None
    if frame.width == 0 or frame.height == 0:
        raise DeckError(f"Sheet {names[index]!r} is empty.")
    frame = frame.cast(pl.String)
    frame.columns = [f"column_{i}" for i in range(1, frame.width + 1)]
    row_offset, column_offset = (_xlsx_origin(data, index) if data.startswith(ZIP_MAGIC)
                                 else (0, 0))
    return RawTable(frame=frame, format="xlsx", sheet=names[index], sheets=names,
                    row_offset=row_offset, column_offset=column_offset)


_ATTR = re.compile(r'([\w:]+)="([^"]*)"')
_CELL = re.compile(r"<c\b([^>]*?)(/?)>")
_CELL_REF = re.compile(r"^([A-Z]+)(\d+)$")


def _column_number(letters: str) -> int:
    number = 0
    for char in letters:
        number = number * 26 + ord(char) - 64
    return number


def _xlsx_origin(data: bytes, index: int) -> tuple[int, int]:
    """(rows, columns) calamine skipped before the first cell with a value: the
    sheet's first rows are read from its XML (best effort; (0, 0) when unsure)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            workbook = archive.read("xl/workbook.xml").decode("utf-8", "replace")
            rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
            tags = re.findall(r"<(?:\w+:)?sheet\b[^>]*>", workbook)
            attrs = dict(_ATTR.findall(tags[index]))
            rid = next(v for k, v in attrs.items() if k.endswith(":id"))
            target = ""
            for tag in re.findall(r"<(?:\w+:)?Relationship\b[^>]*>", rels):
                rel = dict(_ATTR.findall(tag))
                if rel.get("Id") == rid:
                    target = rel.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            with archive.open(path) as member:
                head = member.read(1 << 20).decode("utf-8", "replace")
    except Exception:
        return 0, 0
    first_row, first_col = 0, 0
    for match in _CELL.finditer(head):
        if match.group(2):  # self-closing: no value
            continue
        end = head.find("</c>", match.end())
        body = head[match.end():end if end >= 0 else None]
        if "<v>" not in body and "<is>" not in body and "<v " not in body:
            continue
        ref = _CELL_REF.match(dict(_ATTR.findall(match.group(1))).get("r", ""))
        if ref is None:
            return 0, 0
        col, row = _column_number(ref.group(1)), int(ref.group(2))
        first_row = first_row or row
        first_col = col if not first_col else min(first_col, col)
    if not first_row:
        return 0, 0
    return first_row - 1, first_col - 1
