"""Mapping and validating decks: every bad-deck case names its row and column, any
error yields no frame, a good deck yields the canonical frame sorted by prefix."""

from __future__ import annotations

import io
import time

import polars as pl
import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.ratecards.deck import (
    CANONICAL_SCHEMA,
    Mapping,
    RowError,
    guess_mapping,
    read_deck,
    suggest_mapping,
    validate,
)
from orchestrator.ratecards.money import MoneyFormatError, parse_units

HEADER = "prefix,name,rate,inter,intra,mcd,pulse,connect_fee,status"


def check(text: str, mapping: Mapping | None = None) -> list[RowError]:
    table = read_deck(text.encode())
    result = validate(table, mapping or suggest_mapping(table))
    assert result.frame is None and not result.ok
    assert result.total_errors >= len(result.errors) > 0
    return result.errors


def good(text: str, mapping: Mapping | None = None) -> pl.DataFrame:
    table = read_deck(text.encode())
    result = validate(table, mapping or suggest_mapping(table))
    assert result.errors == [], result.errors
    assert result.frame is not None
    return result.frame


# ---------------------------------------------------------------- the good path

def test_canonical_frame_types_defaults_and_order() -> None:
    frame = good(f"{HEADER}\n"
                 "44, United Kingdom ,0.0123,,,,,,\n"
                 "1,USA,1,0.5,0.25,30,6,0.01,BLOCKED\n"
                 "440,UK x,.5,,,60,60,,Active\n")
    assert dict(frame.schema) == CANONICAL_SCHEMA
    assert frame.rows() == [
        ("1", "USA", 100_000_000, 50_000_000, 25_000_000, 30, 6, 1_000_000, "blocked"),
        ("44", "United Kingdom", 1_230_000, None, None, 1, 1, 0, "active"),
        ("440", "UK x", 50_000_000, None, None, 60, 60, 0, "active"),
    ]


def test_only_prefix_and_rate_are_required() -> None:
    frame = good("Code;Price\n33;0,02\n", )
    assert frame.rows() == [("33", "", 2_000_000, None, None, 1, 1, 0, "active")]


def test_combined_billing_column() -> None:
    frame = good("Dial Code,Destination,Rate,Billing\n44,UK,0.1,30/6\n1,US,0.2, 60 / 60 \n"
                 "2,X,0.3,\n")
    assert frame.select("prefix", "mcd", "pulse").rows() == [
        ("1", 60, 60), ("2", 1, 1), ("44", 30, 6)]


def test_mapping_by_header_text_and_index_with_later_first_row() -> None:
    text = "Carrier X deck\nvalid from 2026-01-01\nDEST,CODE,USD/min\nUK,44,0.1\nFR,33,0.2\n"
    mapping = Mapping(columns={"prefix": "code", "rate": 2, "name": " Dest "}, first_row=4)
    assert good(text, mapping).select("prefix", "name").rows() == [("33", "FR"), ("44", "UK")]


def test_blank_rows_are_skipped_and_numbers_stay_those_of_the_file() -> None:
    errors = check("prefix,rate\n\n44,0.1\n,\n  ,  \n45,x\n")
    assert errors == [RowError(6, "rate", "rate 'x' is not a number")]


def test_file_defaults_apply_when_the_field_is_not_mapped() -> None:
    data = ('{"cards": {"d": {"type": "termination", "currency": "USD", '
            '"rate": {"default_initial": 30, "default_pulse": 6, "connection": 0.01}, '
            '"fields": [{"name": "prefix"}, {"name": "rate"}], '
            '"rates": [["44", 0.1]]}}}')
    table = read_deck(data.encode())
    result = validate(table, suggest_mapping(table))
    assert result.frame is not None
    assert result.frame.select("mcd", "pulse", "connect_fee").row(0) == (30, 6, 1_000_000)


def test_xlsx_deck_validates_with_sheet_row_numbers() -> None:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet()
    sheet.write_row(1, 1, ["Prefix", "Description", "Rate per minute", "MCD/Pulse"])
    sheet.write_row(2, 1, [44, "UK", 0.0123, "30/6"])
    sheet.write_row(3, 1, [1, "US", -0.5, "60/60"])
    workbook.close()
    table = read_deck(buffer.getvalue())
    result = validate(table, suggest_mapping(table))
    assert result.errors == [RowError(4, "Rate per minute",
                                      "rate '-0.5' is negative")]


# ---------------------------------------------------------------- bad decks

@pytest.mark.parametrize(("cell", "message"), [
    ("", "prefix is empty"),
    ("44a", "prefix '44a' is not digits only"),
    ("4 4", "prefix '4 4' is not digits only"),
    ("+44", "prefix '+44' starts with '+': write digits only"),
    ("1" * 21, f"prefix '{'1' * 21}' is longer than 20 digits"),
])
def test_bad_prefix(cell: str, message: str) -> None:
    assert check(f"prefix,name,rate\n1,ok,0.1\n{cell},x,0.1\n") == [
        RowError(3, "prefix", message)]


def test_twenty_digit_prefix_is_fine() -> None:
    assert good(f"prefix,rate\n{'9' * 20},0.1\n").item(0, "prefix") == "9" * 20


def test_duplicate_prefix_names_every_row() -> None:
    errors = check("prefix,rate\n44,0.1\n1,0.2\n44,0.3\n2,0.1\n44,0.1\n")
    message = "prefix 44 is duplicated (rows 2, 4, 6)"
    assert errors == [RowError(2, "prefix", message), RowError(4, "prefix", message),
                      RowError(6, "prefix", message)]


@pytest.mark.parametrize(("cell", "message"), [
    ("", "rate is empty"),
    ("abc", "rate 'abc' is not a number"),
    ("0.1.2", "rate '0.1.2' is not a number"),
    ("1e-5", "rate '1e-5' is not a number"),
    ("$0.10", "rate '$0.10' is not a number"),
    ("-0.01", "rate '-0.01' is negative"),
    ("0.123456789", "rate '0.123456789' has more than 8 decimal places"),
    ("92233720368", "rate '92233720368' is too large"),
    ("123456789012345", "rate '123456789012345' is too large"),
])
def test_bad_rate(cell: str, message: str) -> None:
    assert check(f"prefix,rate\n44,{cell}\n") == [RowError(2, "rate", message)]


def test_largest_rate_and_decimal_comma() -> None:
    frame = good('prefix,rate\n44,92233720367.99999999\n45,"0,5"\n')
    assert frame.get_column("rate").to_list() == [9_223_372_036_799_999_999, 50_000_000]


@pytest.mark.parametrize("column", ["inter", "intra", "connect_fee"])
def test_bad_optional_money(column: str) -> None:
    assert check(f"prefix,rate,{column}\n44,0.1,-1\n") == [
        RowError(2, column, f"{column} '-1' is negative")]


@pytest.mark.parametrize(("cell", "message"), [
    ("0", "is not positive"),
    ("-6", "is not a positive whole number"),
    ("1.5", "is not a positive whole number"),
    ("x", "is not a positive whole number"),
    ("3601", "is more than 3600 seconds"),
    ("99999999", "is more than 3600 seconds"),
])
@pytest.mark.parametrize("column", ["mcd", "pulse"])
def test_bad_mcd_and_pulse(column: str, cell: str, message: str) -> None:
    assert check(f"prefix,rate,{column}\n44,0.1,{cell}\n") == [
        RowError(2, column, f"{column} '{cell}' {message}")]


@pytest.mark.parametrize(("cell", "message"), [
    ("30", "billing '30' is not mcd/pulse like 30/6"),
    ("30/6/1", "billing '30/6/1' is not mcd/pulse like 30/6"),
    ("0/6", "billing mcd '0/6' is not positive"),
    ("60/7200", "billing pulse '60/7200' is more than 3600 seconds"),
])
def test_bad_billing(cell: str, message: str) -> None:
    assert check(f"prefix,rate,billing\n44,0.1,{cell}\n") == [
        RowError(2, "billing", message)]


def test_unknown_status() -> None:
    assert check("prefix,rate,status\n44,0.1,disabled\n") == [
        RowError(2, "status", "status 'disabled' is not active or blocked")]


def test_name_too_long() -> None:
    assert check(f"prefix,name,rate\n44,{'n' * 201},0.1\n") == [
        RowError(2, "name", "name is longer than 200 characters")]


def test_missing_required_columns_are_named() -> None:
    errors = check("destination,cost\nUK,0.1\n",
                   Mapping(columns={"name": "destination", "rate": "cost"}))
    assert errors == [RowError(1, "prefix", "required column prefix is not mapped")]
    errors = check("destination,cost\nUK,0.1\n")  # nothing guessed: both named
    assert [e.column for e in errors] == ["prefix", "rate"]
    errors = check("code,name\n44,UK\n", Mapping(columns={"prefix": 0, "name": 1}))
    assert errors == [RowError(1, "rate", "required column rate is not mapped")]


def test_mapping_errors() -> None:
    text = "prefix,rate,mcd\n44,0.1,1\n"
    assert check(text, Mapping(columns={"prefix": "code", "rate": 1})) == [
        RowError(1, "code", "column 'code' for prefix not found in row 1")]
    assert check(text, Mapping(columns={"prefix": 0, "rate": 7})) == [
        RowError(1, "rate", "column index 7 is outside the file's 3 columns")]
    assert check(text, Mapping(columns={"prefix": 0, "rate": 1, "colour": 2})) == [
        RowError(1, "colour", "unknown field 'colour'")]
    assert check(text, Mapping(columns={"prefix": 0, "rate": 1, "billing": 2,
                                        "mcd": 2})) == [
        RowError(1, "mcd", "map either billing (30/6) or mcd and pulse, not both")]


def test_no_header_labels_columns_by_number() -> None:
    errors = check("44,0.1\n45,x\n", Mapping(columns={"prefix": 0, "rate": 1}, first_row=1))
    assert errors == [RowError(2, "column 2", "rate 'x' is not a number")]


def test_no_data_rows() -> None:
    assert check("prefix,rate\n\n") == [RowError(2, "", "no rate rows from row 2 on")]


def test_all_problems_of_a_row_are_reported_in_column_order() -> None:
    errors = check(f"{HEADER}\nx,,y,-1,z,0,3601,q,maybe\n")
    assert [e.column for e in errors] == ["prefix", "rate", "inter", "intra", "mcd",
                                          "pulse", "connect_fee", "status"]
    assert {e.row for e in errors} == {2}


def test_errors_are_capped_with_the_total() -> None:
    text = "prefix,rate\n" + "".join(f"{i},bad\n" for i in range(1500))
    table = read_deck(text.encode())
    result = validate(table, suggest_mapping(table))
    assert result.total_errors == 1500
    assert len(result.errors) == 1000
    assert result.errors[0].row == 2 and result.errors[-1].row == 1001


# ---------------------------------------------------------------- guessing

@pytest.mark.parametrize(("header", "expected"), [
    (["Code", "Destination", "Rate", "Billing", "Status"],
     {"prefix": 0, "name": 1, "rate": 2, "billing": 3, "status": 4}),
    (["Dial Code", "Country", "Price per minute", "Min Duration", "Increment",
      "Connection Fee"],
     {"prefix": 0, "name": 1, "rate": 2, "mcd": 3, "pulse": 4, "connect_fee": 5}),
    (["prefix", "name", "rate", "connection_fee", "initial_interval", "billing_interval"],
     {"prefix": 0, "name": 1, "rate": 2, "connect_fee": 3, "mcd": 4, "pulse": 5}),
    (["NPANXX", "Interstate Rate", "Intrastate Rate", "Indeterminate", "MCD/Pulse"],
     {"inter": 1, "intra": 2, "rate": 3, "billing": 4}),
    (["Destination Code", "Description", "Cost", "Setup", "Interval 1/n"],
     {"prefix": 0, "name": 1, "rate": 2, "connect_fee": 3, "billing": 4}),
    ([None, "", "unrelated"], {}),
])
def test_guess_mapping(header: list[str | None], expected: dict[str, int]) -> None:
    assert guess_mapping(header) == expected


def test_suggest_mapping_finds_the_header_below_a_title() -> None:
    table = read_deck(b"ACME rates,,\nvalid 2026,,\nCode,Destination,Rate\n44,UK,0.1\n")
    mapping = suggest_mapping(table)
    assert mapping.first_row == 4
    assert mapping.columns == {"prefix": 0, "name": 1, "rate": 2}


def test_suggest_mapping_without_header_starts_at_digits() -> None:
    table = read_deck(b"rates\n44,0.1\n")
    assert suggest_mapping(table) == Mapping(columns={}, first_row=2)


# ---------------------------------------------------------------- exactness

@settings(max_examples=60, deadline=None)
@given(st.lists(st.from_regex(r"\A[0-9]{1,11}(\.[0-9]{0,8})?\Z"), min_size=1,
                max_size=30))
def test_units_match_parse_units(values: list[str]) -> None:
    text = "prefix,rate\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values))
    table = read_deck(text.encode())
    result = validate(table, Mapping(columns={"prefix": 0, "rate": 1}))
    def units(value: str) -> int | None:
        try:
            return parse_units(value)
        except MoneyFormatError:  # beyond Int64
            return None

    expected = {str(i): u for i, v in enumerate(values)
                if (u := units(v)) is not None and u <= 9_223_372_036_799_999_999}
    if len(expected) < len(values):  # some over the limit: refused, not wrapped
        assert result.frame is None
        assert all(e.message.endswith("is too large") for e in result.errors)
    else:
        assert result.frame is not None
        assert dict(result.frame.select("prefix", "rate").rows()) == expected


# ---------------------------------------------------------------- scale

def test_million_rows_with_one_bad_row_at_the_end() -> None:
    n = 1_000_000
    body = (pl.DataFrame({"i": pl.int_range(0, n, eager=True)}).select(
        (pl.col("i") + 10_000_000).cast(pl.String).alias("prefix"),
        pl.lit("Somewhere").alias("name"),
        pl.concat_str([pl.lit("0."), (pl.col("i") % 9973).cast(pl.String)]).alias("rate"),
        pl.lit("60/60").alias("billing")))
    buffer = io.BytesIO()
    body.write_csv(buffer)
    data = buffer.getvalue() + b"20000000,Last,0.1x,60/60\n"
    started = time.perf_counter()
    table = read_deck(data)
    result = validate(table, suggest_mapping(table))
    elapsed = time.perf_counter() - started
    assert result.frame is None
    assert result.errors == [RowError(n + 2, "rate", "rate '0.1x' is not a number")]
    assert result.total_errors == 1
    assert elapsed < 60  # about 3 s on an idle laptop; generous for loaded CI
