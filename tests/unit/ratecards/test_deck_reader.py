"""Reading uploaded decks: CSV (encodings, delimiters, BOM, CRLF), XLSX, Open Rate
Card JSON, and refusing what is not a table."""

from __future__ import annotations

import io
import json
import os

import pytest
import xlsxwriter

from orchestrator.ratecards.deck import DeckError, read_deck
from orchestrator.ratecards.deck.reader import detect_format, sniff_delimiter


def rows(data: bytes, **options: object) -> list[list[str]]:
    table = read_deck(data, **options)  # type: ignore[arg-type]
    return [cells for _row, cells in table.preview(100)]


def xlsx(cells: dict[tuple[int, int], object], sheets: tuple[str, ...] = ("Rates",)) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    first = workbook.add_worksheet(sheets[0])
    for (r, c), value in cells.items():
        first.write(r, c, value)
    for name in sheets[1:]:
        other = workbook.add_worksheet(name)
        other.write(0, 0, f"sheet {name}")
    workbook.close()
    return buffer.getvalue()


# ---------------------------------------------------------------- refused input

def test_zero_bytes_is_refused() -> None:
    with pytest.raises(DeckError, match="empty \\(0 bytes\\)"):
        read_deck(b"")


@pytest.mark.parametrize("data", [b"   \n\r\n\t\n", b"\xef\xbb\xbf\r\n"])
def test_blank_file_is_refused(data: bytes) -> None:
    with pytest.raises(DeckError, match="no data"):
        read_deck(data)


@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00",
    bytes(range(256)) * 4,
    os.urandom(4096) + b"\x00",
])
def test_binary_file_is_refused(data: bytes) -> None:
    with pytest.raises(DeckError, match="binary"):
        read_deck(data)


def test_binary_without_nul_is_refused() -> None:
    data = bytes([1, 2, 3, 4, 5, 6, 7, 14, 15, 16, 17]) * 300
    with pytest.raises(DeckError, match="binary"):
        read_deck(data)


def test_undecodable_with_chosen_encoding_names_the_byte() -> None:
    with pytest.raises(DeckError, match="cannot be decoded as utf-8 \\(byte 8"):
        read_deck(b"prefix,\xff\xfe\n", encoding="utf-8")


def test_unknown_encoding_and_format_are_refused() -> None:
    with pytest.raises(DeckError, match="Unknown encoding"):
        read_deck(b"a,b\n", encoding="klingon")
    with pytest.raises(DeckError, match="Unknown format"):
        read_deck(b"a,b\n", format="pdf")


@pytest.mark.parametrize("data", [b'prefix,rate\n44,"0.1\n45,0.2\n', b'"a"b,c\n1,2\n'])
def test_broken_quotes_are_refused(data: bytes) -> None:
    with pytest.raises(DeckError, match="check its quotes"):
        read_deck(data)


def test_corrupt_zip_is_refused() -> None:
    with pytest.raises(DeckError, match="not a readable XLSX"):
        read_deck(b"PK\x03\x04" + b"garbage" * 50)


# ---------------------------------------------------------------- CSV

def test_comma_csv_keeps_header_as_data_and_all_strings() -> None:
    table = read_deck(b"prefix,name,rate\n44,UK,0.0123\n1,US,0.001\n")
    assert (table.format, table.encoding, table.delimiter) == ("csv", "utf-8", ",")
    assert table.frame.columns == ["column_1", "column_2", "column_3"]
    assert all(dtype == __import__("polars").String for dtype in table.frame.dtypes)
    assert rows(b"prefix,name,rate\n44,UK,0.0123\n") == [
        ["prefix", "name", "rate"], ["44", "UK", "0.0123"]]


@pytest.mark.parametrize(("delimiter", "text"), [
    (";", "prefix;name;rate\n44;UK, mobile;0,0123\n33;France;0,02\n"),
    ("\t", "prefix\tname\trate\n44\tUK, mobile\t0.0123\n33\tFrance\t0.02\n"),
    ("|", "prefix|name|rate\n44|UK; mobile|0.0123\n33|France|0.02\n"),
])
def test_delimiter_is_sniffed(delimiter: str, text: str) -> None:
    table = read_deck(text.encode())
    assert table.delimiter == delimiter
    assert table.cells(2)[0] == "44" and table.cells(2)[1].startswith("UK")
    assert table.width == 3


def test_delimiter_override_wins() -> None:
    table = read_deck(b"a;b,c\n1;2,3\n", delimiter=",")
    assert table.delimiter == ","
    assert table.cells(2) == ["1;2", "3"]
    assert sniff_delimiter("a;b,c\n1;2,3\n") in (",", ";")


def test_bom_is_removed_and_reported() -> None:
    table = read_deck("\ufeffprefix,rate\n44,1\n".encode())
    assert table.encoding == "utf-8-sig"
    assert table.cells(1) == ["prefix", "rate"]  # no BOM glued to the first header


def test_windows_line_ends() -> None:
    table = read_deck(b"prefix,name,rate\r\n44,UK,0.1\r\n1,US,0.2\r\n")
    assert table.height == 3
    assert table.cells(3) == ["1", "US", "0.2"]  # no trailing \r


def test_latin1_is_detected_and_decoded() -> None:
    text = ("prefix;name;rate\n225;Côte d'Ivoire;0,1\n33;France métropole;0,01\n"
            "49;Deutschland Straße;0,02\n")
    table = read_deck(text.encode("latin-1"))
    assert table.encoding not in ("utf-8", "utf-8-sig")
    assert table.cells(2)[1] == "Côte d'Ivoire"
    assert table.cells(4)[1] == "Deutschland Straße"


def test_utf16_with_bom() -> None:
    table = read_deck("prefix\tname\n44\tÅland\n".encode("utf-16"))
    assert table.encoding == "utf-16"
    assert table.cells(2) == ["44", "Åland"]


def test_explicit_encoding_overrides_detection() -> None:
    data = "prefix,name\n7,Россия\n".encode("cp1251")
    assert read_deck(data, encoding="cp1251").cells(2) == ["7", "Россия"]


def test_quotes_blank_lines_and_ragged_rows_keep_file_row_numbers() -> None:
    data = b'prefix,name,rate\n44,"UK, ""mobile""",0.1\n\n1,"two\nlines",0.2\n9\n8,x,1,extra\n'
    table = read_deck(data)
    assert table.cells(2) == ["44", 'UK, "mobile"', "0.1", ""]
    assert table.cells(3) == ["", "", "", ""]  # the blank line is still row 3
    assert table.cells(4) == ["1", "two\nlines", "0.2", ""]
    assert table.cells(5) == ["9", "", "", ""]
    assert table.cells(6) == ["8", "x", "1", "extra"]
    assert table.row_number(0) == 1


def test_single_column_file() -> None:
    table = read_deck(b"44\n1\n")
    assert table.width == 1 and table.cells(2) == ["1"]


# ---------------------------------------------------------------- XLSX

def test_xlsx_first_sheet_numbers_become_plain_text() -> None:
    data = xlsx({(0, 0): "Code", (0, 1): "Rate", (0, 2): "MCD",
                 (1, 0): 441, (1, 1): 0.0123, (1, 2): 30,
                 (2, 0): "0044", (2, 1): 0.00001, (2, 2): 60.0})
    assert detect_format(data) == "xlsx"
    table = read_deck(data)
    assert (table.format, table.sheet, table.sheets) == ("xlsx", "Rates", ("Rates",))
    assert table.cells(2) == ["441", "0.0123", "30"]
    assert table.cells(3) == ["0044", "0.00001", "60"]


def test_xlsx_rows_and_columns_keep_sheet_numbers() -> None:
    # Data from C4 on: calamine drops the empty rows/columns, row numbers stay.
    data = xlsx({(3, 2): "prefix", (3, 3): "rate", (4, 2): "44", (4, 3): 0.5,
                 (6, 2): "45", (6, 3): 1})
    table = read_deck(data)
    assert (table.row_offset, table.column_offset) == (3, 2)
    assert table.cells(4) == ["prefix", "rate"]
    assert table.cells(5) == ["44", "0.5"]
    assert table.cells(6) == ["", ""]
    assert table.cells(7) == ["45", "1"]
    assert table.column_label(0) == "column 3"


def test_xlsx_sheet_by_name_and_index() -> None:
    data = xlsx({(0, 0): "first"}, sheets=("A", "B"))
    assert read_deck(data, sheet="B").cells(1) == ["sheet B"]
    assert read_deck(data, sheet=1).sheet == "B"
    with pytest.raises(DeckError, match="no sheet 'C'"):
        read_deck(data, sheet="C")


def test_empty_xlsx_sheet_is_refused() -> None:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    workbook.add_worksheet("Empty")
    workbook.close()
    with pytest.raises(DeckError, match="empty"):
        read_deck(buffer.getvalue())


# ---------------------------------------------------------------- Open Rate Card

ORC = {
    "name": "ABC Telecom", "schema_version": "1.0.0", "version": "1.0",
    "date": "2026-01-03",
    "cards": {
        "sms": {"name": "SMS", "type": "messaging", "currency": "USD",
                "endpoint": "default", "fields": [{"name": "country_code"}],
                "rates": [["1"]]},
        "default": {
            "name": "Voice", "type": "termination", "currency": "EUR",
            "endpoint": "default",
            "fields": [{"name": "prefix"}, {"name": "name"}, {"name": "rate"},
                       {"name": "connection_fee"}, {"name": "initial_interval"},
                       {"name": "billing_interval"}, {"name": "mnc"}],
            "rate": {"default_pulse": 6, "default_initial": 30, "connection": 0},
            "rates": [["441", "UK Landline", 0.012, 0, 60, 60, None],
                      ["1212", "USA New York", 1e-05, 0.01, 6, 6, True]],
        },
    },
}


def test_orc_termination_card_is_chosen_with_exact_numbers() -> None:
    table = read_deck(json.dumps(ORC).encode())
    assert (table.format, table.sheet, table.currency) == ("orc", "default", "EUR")
    assert table.sheets == ("sms", "default")
    assert table.cells(1) == ["prefix", "name", "rate", "connection_fee",
                              "initial_interval", "billing_interval", "mnc"]
    assert table.cells(2) == ["441", "UK Landline", "0.012", "0", "60", "60", ""]
    assert table.cells(3) == ["1212", "USA New York", "0.00001", "0.01", "6", "6", "true"]
    assert table.defaults == {"mcd": "30", "pulse": "6", "connect_fee": "0"}


def test_orc_card_chosen_by_key() -> None:
    table = read_deck(json.dumps(ORC).encode(), sheet="sms")
    assert table.cells(2) == ["1"]
    with pytest.raises(DeckError, match="no card 'x'"):
        read_deck(json.dumps(ORC).encode(), sheet="x")


def test_orc_rate_objects() -> None:
    data = json.dumps({"currency": "USD", "rates": [
        {"prefix": "44", "rate": "0.1"}, {"prefix": "1", "rate": 0.2, "status": "blocked"}]})
    table = read_deck(data.encode(), format="orc")
    assert table.cells(1) == ["prefix", "rate", "status"]
    assert table.cells(3) == ["1", "0.2", "blocked"]
    assert table.currency == "USD"


@pytest.mark.parametrize(("data", "message"), [
    (b"{\"cards\": ", "not valid JSON"),
    (b"{\"name\": \"x\"}", "no \"cards\""),
    (b"{\"cards\": {\"a\": {\"fields\": []}}}", "has \"rates\""),
    (b"{\"cards\": {\"a\": {\"rates\": [[\"1\"]]}}}", "no \"fields\""),
])
def test_bad_orc_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(DeckError, match=message):
        read_deck(data)


def test_detect_format() -> None:
    assert detect_format(b"  \n{\"cards\": {}}") == "orc"
    assert detect_format("\ufeff{}".encode()) == "orc"
    assert detect_format(b"prefix,rate\n") == "csv"
    assert detect_format(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest") == "xlsx"


def test_suggested_mapping_takes_a_column_of_n_slash_m_values_as_billing() -> None:
    from orchestrator.ratecards.deck.mapping import suggest_mapping
    table = read_deck(b"Prefix;Destination;Rate;Increment\n44;UK;0.01;60/60\n4420;L;0.02;1/1\n")
    assert suggest_mapping(table).columns == {"prefix": 0, "name": 1, "rate": 2, "billing": 3}
    two = read_deck(b"Code,Country,Price,MCD,Pulse\n44,UK,0.01,30,6\n")
    assert suggest_mapping(two).columns == {"prefix": 0, "name": 1, "rate": 2, "mcd": 3,
                                            "pulse": 4}
