"""Export: a canonical frame -> CSV, XLSX or Open Rate Card JSON.

Money is written as plain decimal text with trailing zeros trimmed (``0.0123``,
``1``, ``0``), the same text ``parse_units`` reads back: export then import gives
the same frame. Columns (CSV and XLSX header): ``prefix, name, rate, inter, intra,
mcd, pulse, connect_fee, status``; an absent ``inter``/``intra`` is an empty cell.

XLSX: one sheet written as OOXML by polars string expressions and streamed into the
zip (see ``write_xlsx``); prefixes, names and status are text cells; money is a
number cell when it has at most 15 significant digits (a double holds it exactly as
read back), else a text cell; mcd/pulse are numbers.

Open Rate Card JSON (schema 1.0.0, https://github.com/connexcs/open-rate-card): one
``termination`` card ``default`` whose ``fields`` are ``prefix, name, rate, inter,
intra, connection_fee, initial_interval (mcd), billing_interval (pulse), status``
(``inter``, ``intra`` and ``status`` are this project's extension fields) and whose
``rates`` are arrays with money as exact JSON numbers.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import IO, Any

import polars as pl

from orchestrator.ratecards.deck.validate import COLUMNS
from orchestrator.ratecards.money import DECIMALS, SCALE

EXPORT_FORMATS = ("csv", "xlsx", "orc")
MONEY = ("rate", "inter", "intra", "connect_fee")
ORC_FIELDS = ("prefix", "name", "rate", "inter", "intra", "connection_fee",
              "initial_interval", "billing_interval", "status")
_EXACT_DOUBLE_UNITS = 10**15  # below: at most 15 significant digits

Target = str | Path | IO[bytes]


def money_text(units: pl.Expr) -> pl.Expr:
    """Units of 10^-8 as decimal text, trailing zeros trimmed; null stays null."""
    magnitude = units.abs()
    frac = ((magnitude % SCALE).cast(pl.String).str.pad_start(DECIMALS, "0")
            .str.strip_chars_end("0"))
    return pl.concat_str([
        pl.when(units < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (magnitude // SCALE).cast(pl.String),
        pl.when(frac == "").then(pl.lit("")).otherwise(pl.lit(".") + frac)])


def text_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """The export columns as text (money as decimal text, null kept)."""
    return frame.select(
        [money_text(pl.col(c)).alias(c) if c in MONEY else pl.col(c).cast(pl.String)
         for c in COLUMNS])


def export_bytes(frame: pl.DataFrame, format: str, **options: Any) -> bytes:
    """The export as bytes (``options``: see ``write_orc``)."""
    buffer = io.BytesIO()
    export(frame, format, buffer, **options)
    return buffer.getvalue()


def export(frame: pl.DataFrame, format: str, target: Target, **options: Any) -> None:
    """Write ``frame`` as ``csv``, ``xlsx`` or ``orc`` to a path or binary stream."""
    if format == "csv":
        write_csv(frame, target)
    elif format == "xlsx":
        write_xlsx(frame, target)
    elif format == "orc":
        write_orc(frame, target, **options)
    else:
        raise ValueError(f"unknown export format {format!r}")


def write_csv(frame: pl.DataFrame, target: Target) -> None:
    text_frame(frame).write_csv(target, include_header=True, quote_style="necessary",
                                line_terminator="\n")


_XLSX_STATIC = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        "</Types>"),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/styles" Target="styles.xml"/></Relationships>'),
    "xl/styles.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
        '</borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" '
        'borderId="0"/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0" fontId="0" '
        'fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="1" fillId="0" '
        'borderId="0" xfId="0" applyFont="1"/></cellXfs><cellStyles count="1">'
        '<cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'),
}
_LETTERS = "ABCDEFGHI"
_INVALID_XML = r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"
XLSX_CHUNK_ROWS = 100_000


def _xml_text(expr: pl.Expr) -> pl.Expr:
    return (expr.str.replace_all(_INVALID_XML, "").str.replace_all("&", "&amp;", literal=True)
            .str.replace_all("<", "&lt;", literal=True)
            .str.replace_all(">", "&gt;", literal=True))


def _string_cell(letter: str, value: pl.Expr, row: pl.Expr) -> pl.Expr:
    """An inline-string cell, or "" for null."""
    return pl.concat_str([pl.lit(f'<c r="{letter}'), row,
                          pl.lit('" t="inlineStr"><is><t xml:space="preserve">'),
                          _xml_text(value), pl.lit("</t></is></c>")]).fill_null("")


def _number_cell(letter: str, value: pl.Expr, row: pl.Expr) -> pl.Expr:
    return pl.concat_str([pl.lit(f'<c r="{letter}'), row, pl.lit('"><v>'), value,
                          pl.lit("</v></c>")]).fill_null("")


def _money_cell(letter: str, units: pl.Expr, row: pl.Expr) -> pl.Expr:
    """A number cell where a double holds the value exactly, else a text cell."""
    return pl.when(units.abs() < _EXACT_DOUBLE_UNITS).then(
        _number_cell(letter, money_text(units), row)).otherwise(
        _string_cell(letter, money_text(units), row))


def _sheet_rows(frame: pl.DataFrame, first: int) -> str:
    """``<row>`` elements of ``frame``, its first row being sheet row ``first``."""
    row = (pl.int_range(pl.len(), dtype=pl.Int64) + first).cast(pl.String)
    cells = [
        _string_cell("A", pl.col("prefix"), row),
        _string_cell("B", pl.when(pl.col("name") == "").then(None)
                     .otherwise(pl.col("name")), row),
        _money_cell("C", pl.col("rate"), row),
        _money_cell("D", pl.col("inter"), row),
        _money_cell("E", pl.col("intra"), row),
        _number_cell("F", pl.col("mcd").cast(pl.String), row),
        _number_cell("G", pl.col("pulse").cast(pl.String), row),
        _money_cell("H", pl.col("connect_fee"), row),
        _string_cell("I", pl.col("status"), row),
    ]
    lines = frame.select(pl.concat_str(
        [pl.lit('<row r="'), row, pl.lit('">'), *cells, pl.lit("</row>")]).alias("x"))
    return "".join(lines.get_column("x").to_list())


def write_xlsx(frame: pl.DataFrame, target: Target, *, sheet: str = "Rates") -> None:
    """One sheet: a bold header row, then the rates. The sheet XML is produced by
    polars string expressions per chunk of rows and streamed into the zip (a cell
    at a time through xlsxwriter took minutes for a 1M-row card)."""
    import zipfile

    title = (sheet.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
             [:31] or "Rates")
    header = "".join(f'<c r="{_LETTERS[j]}1" s="1" t="inlineStr"><is><t>{name}</t></is>'
                     f"</c>" for j, name in enumerate(COLUMNS))
    last = max(frame.height + 1, 1)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED,
                         compresslevel=1) as archive:
        for name, content in _XLSX_STATIC.items():
            archive.writestr(name, content)
        archive.writestr("xl/workbook.xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<sheets><sheet name="{title}" sheetId="1" r:id="rId1"/></sheets></workbook>'))
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as out:
            out.write((
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                f'main"><dimension ref="A1:I{last}"/><sheetData><row r="1">{header}</row>'
            ).encode())
            for offset in range(0, frame.height, XLSX_CHUNK_ROWS):
                chunk = frame.slice(offset, XLSX_CHUNK_ROWS)
                out.write(_sheet_rows(chunk, offset + 2).encode())
            out.write(b"</sheetData></worksheet>")


def write_orc(frame: pl.DataFrame, target: Target, *, name: str = "Rate card",
              card_name: str | None = None, currency: str = "USD",
              date: dt.date | None = None) -> None:
    """Open Rate Card JSON: one ``termination`` card with this frame's rates."""
    prepared = frame.select(
        pl.col("prefix"), pl.col("name").fill_null(""),
        *[money_text(pl.col(c)).alias(c) for c in MONEY], "mcd", "pulse", "status")
    # {"v":"<escaped>"} -> "<escaped>": JSON string literals, vectorised
    encoded = prepared.with_columns(
        pl.struct(pl.col("name").alias("v")).struct.json_encode().alias("__n"))
    name_json = pl.col("__n").str.slice(5, pl.col("__n").str.len_chars() - 6)
    null = pl.lit("null")
    lines = encoded.select(
        pl.concat_str([
            pl.lit('  ["'), pl.col("prefix"), pl.lit('", '), name_json, pl.lit(", "),
            pl.col("rate"), pl.lit(", "),
            pl.col("inter").fill_null(null), pl.lit(", "),
            pl.col("intra").fill_null(null), pl.lit(", "),
            pl.col("connect_fee"), pl.lit(", "),
            pl.col("mcd").cast(pl.String), pl.lit(", "),
            pl.col("pulse").cast(pl.String), pl.lit(', "'),
            pl.col("status"), pl.lit('"]')]).alias("line"))
    body = ",\n".join(lines.get_column("line").to_list())
    document = {
        "name": name,
        "schema_version": "1.0.0",
        "version": "1.0",
        "date": (date or dt.date.today()).isoformat(),
        "endpoints": {"default": {"protocol": "sip"}},
        "cards": {"default": {
            "name": card_name or name,
            "type": "termination",
            "direction": "outbound",
            "traffic_type": "voice",
            "currency": currency,
            "endpoint": "default",
            "fields": [{"name": f} for f in ORC_FIELDS],
            "rates": "@RATES@",
        }},
    }
    head, tail = json.dumps(document, indent=2, ensure_ascii=False).split('"@RATES@"')
    data = (head + "[\n" + body + ("\n" if body else "") + "      ]" + tail + "\n")
    encoded_bytes = data.encode("utf-8")
    if isinstance(target, (str, Path)):
        Path(target).write_bytes(encoded_bytes)
    else:
        target.write(encoded_bytes)
