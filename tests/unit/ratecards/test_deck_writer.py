"""Export of canonical frames (CSV, XLSX, Open Rate Card JSON) and the round trip:
export, read, validate gives the same frame."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import fastexcel
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.ratecards.deck import (
    CANONICAL_SCHEMA,
    export,
    export_bytes,
    read_deck,
    suggest_mapping,
    validate,
)
from orchestrator.ratecards.deck.writer import ORC_FIELDS, money_text

FRAME = pl.DataFrame(
    [("1", "USA", 100_000_000, 50_000_000, 25_000_000, 30, 6, 1_000_000, "blocked"),
     ("44", 'UK, "mobile" & <more>', 1_230_000, None, None, 1, 1, 0, "active"),
     ("440", "Line\nbreak;semi\tcolon", 123_456_789_012_345_678, None, 7, 60, 60,
      9_223_372_036_854_775_807, "active")],
    schema=CANONICAL_SCHEMA, orient="row")


def round_trip(frame: pl.DataFrame, fmt: str) -> pl.DataFrame:
    table = read_deck(export_bytes(frame, fmt))
    result = validate(table, suggest_mapping(table))
    assert result.errors == [], result.errors
    assert result.frame is not None
    return result.frame


def test_money_text() -> None:
    units = pl.Series([0, 1, 100_000_000, 1_230_000, -5, None, 2**63 - 1], dtype=pl.Int64)
    assert pl.select(money_text(pl.lit(units))).to_series().to_list() == [
        "0", "0.00000001", "1", "0.0123", "-0.00000005", None, "92233720368.54775807"]


def test_csv_text() -> None:
    text = export_bytes(FRAME.head(2), "csv").decode()
    assert text == ("prefix,name,rate,inter,intra,mcd,pulse,connect_fee,status\n"
                    "1,USA,1,0.5,0.25,30,6,0.01,blocked\n"
                    '44,"UK, ""mobile"" & <more>",0.0123,,,1,1,0,active\n')


def test_rates_above_int64_after_import_stay_refused() -> None:
    # The largest connect_fee (2^63-1 units) exports; importing it is refused as too
    # large (the import limit keeps one currency unit of headroom), not wrapped.
    table = read_deck(export_bytes(FRAME, "csv"))
    result = validate(table, suggest_mapping(table))
    assert [(e.row, e.column) for e in result.errors] == [(4, "connect_fee")]
    assert result.errors[0].message.endswith("is too large")


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "orc"])
def test_round_trip_with_awkward_names(fmt: str) -> None:
    frame = FRAME.with_columns(pl.col("connect_fee").clip(0, 10**15))
    assert round_trip(frame, fmt).equals(frame)


def test_xlsx_cells_and_types() -> None:
    frame = FRAME.with_columns(pl.col("connect_fee").clip(0, 10**15))
    data = export_bytes(frame, "xlsx")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert set(archive.namelist()) >= {"[Content_Types].xml", "xl/workbook.xml",
                                           "xl/worksheets/sheet1.xml", "xl/styles.xml"}
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert '<dimension ref="A1:I4"/>' in sheet
    assert '<c r="C3"><v>0.0123</v></c>' in sheet  # money as a number
    assert "&amp; &lt;more&gt;" in sheet  # names escaped
    # 1234567890.12345678 has 18 significant digits: a text cell, exact.
    assert '<c r="C4" t="inlineStr"><is><t xml:space="preserve">1234567890.12345678' in sheet
    reader = fastexcel.read_excel(data)
    assert reader.sheet_names == ["Rates"]
    values = reader.load_sheet(0, header_row=0).to_polars()
    assert values.columns == list(CANONICAL_SCHEMA)
    assert values.get_column("mcd").to_list() == [30.0, 1.0, 60.0]  # number cells
    assert values.get_column("prefix").to_list() == ["1", "44", "440"]  # text cells


def test_orc_document_follows_the_specification() -> None:
    document = json.loads(export_bytes(FRAME, "orc", name="ACME", currency="EUR"))
    assert document["schema_version"] == "1.0.0"
    assert document["name"] == "ACME"
    card = document["cards"]["default"]
    assert (card["type"], card["currency"], card["endpoint"]) == ("termination", "EUR",
                                                                 "default")
    assert card["endpoint"] in document["endpoints"]
    assert [f["name"] for f in card["fields"]] == list(ORC_FIELDS)
    assert all(len(row) == len(ORC_FIELDS) for row in card["rates"])
    assert card["rates"][0] == ["1", "USA", 1, 0.5, 0.25, 0.01, 30, 6, "blocked"]
    assert card["rates"][1][1] == 'UK, "mobile" & <more>'
    assert card["rates"][1][3] is None


def test_orc_numbers_are_exact_text() -> None:
    data = export_bytes(FRAME, "orc")
    assert b"123456789012345678" not in data  # money, not units
    assert b"1234567890.12345678" in data
    table = read_deck(data)
    assert table.cells(4)[2] == "1234567890.12345678"  # not a rounded float


def test_export_to_a_path_and_unknown_format(tmp_path: Path) -> None:
    export(FRAME, "csv", tmp_path / "deck.csv")
    assert (tmp_path / "deck.csv").read_bytes() == export_bytes(FRAME, "csv")
    export(FRAME, "xlsx", tmp_path / "deck.xlsx")
    assert read_deck((tmp_path / "deck.xlsx").read_bytes()).format == "xlsx"
    with pytest.raises(ValueError, match="unknown export format"):
        export_bytes(FRAME, "pdf")


def test_empty_frame_exports_headers() -> None:
    empty = pl.DataFrame(schema=CANONICAL_SCHEMA)
    assert export_bytes(empty, "csv").decode().startswith("prefix,name,rate")
    assert read_deck(export_bytes(empty, "xlsx")).cells(1)[0] == "prefix"
    assert json.loads(export_bytes(empty, "orc"))["cards"]["default"]["rates"] == []


# ---------------------------------------------------------------- property

_money = st.integers(min_value=0, max_value=10**17)
_name = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
                max_size=30).map(str.strip)


@st.composite
def frames(draw: st.DrawFn) -> pl.DataFrame:
    prefixes = draw(st.lists(st.from_regex(r"\A[1-9][0-9]{0,19}\Z"), min_size=1,
                             max_size=25, unique=True))
    rows = [(p, draw(_name), draw(_money), draw(st.none() | _money),
             draw(st.none() | _money), draw(st.integers(1, 3600)),
             draw(st.integers(1, 3600)), draw(_money),
             draw(st.sampled_from(["active", "blocked"]))) for p in prefixes]
    return pl.DataFrame(rows, schema=CANONICAL_SCHEMA, orient="row").sort("prefix")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.sampled_from(["csv", "xlsx", "orc"]))
def test_export_then_import_is_identity(frame: pl.DataFrame, fmt: str) -> None:
    back = round_trip(frame, fmt)
    assert back.equals(frame), (fmt, frame.rows(), back.rows())
