"""CSV import: mapping, header row, preview, every bad row named, all or nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.audit.models import AuditEntry
from orchestrator.customers import csv_import
from orchestrator.customers.models import Customer
from orchestrator.errors import PermissionDenied, ValidationFailed
from tests.unit.customers.conftest import OPERATOR, VIEWER

GOOD = """Company;Mail;Money;Town
Acme Telecom;noc@acme.example;EUR;Paris
Beta Voice;ops@beta.example;USD;Berlin
"""
MAP = {"Company": "name", "Mail": "email", "Money": "currency", "Town": "city"}


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Customer)) or 0


def test_good_file_creates_every_row_with_audit(session: Session) -> None:
    result = csv_import.import_customers(session, OPERATOR, GOOD.encode(), MAP)
    session.commit()
    assert result.row_count == 2
    assert [(c.name, c.email, c.currency, c.city) for c in result.created] == [
        ("Acme Telecom", "noc@acme.example", "EUR", "Paris"),
        ("Beta Voice", "ops@beta.example", "USD", "Berlin")]
    summaries = list(session.scalars(select(AuditEntry.summary).where(
        AuditEntry.object_type == "customer")))
    assert summaries == ["customer Acme Telecom created by CSV import",
                         "customer Beta Voice created by CSV import"]


def test_one_bad_row_imports_nothing_and_names_row_and_column(session: Session,
                                                              make_customer: Any) -> None:
    make_customer("Existing Co")
    content = ("Company,Mail,Money,Town\n"
               "Good One,a@good.example,USD,Oslo\n"
               "Bad Mail,not-an-email,USD,Oslo\n"
               ",x@y.example,XXX,Rome\n"
               "good one,b@good.example,USD,Oslo\n"
               "existing co,c@good.example,USD,Oslo\n")
    with pytest.raises(ValidationFailed) as info:
        csv_import.import_customers(session, OPERATOR, content, MAP)
    errors = info.value.errors
    assert set(errors) == {"row 3, column Mail", "row 4, column Company", "row 4, column Money",
                           "row 5, column Company", "row 6, column Company"}
    assert "duplicates row 2" in errors["row 5, column Company"][0]
    assert "already exists" in errors["row 6, column Company"][0]
    assert _count(session) == 1


def test_defaults_fill_unmapped_fields(session: Session) -> None:
    content = "Company\nAlpha\nBravo\n"
    result = csv_import.import_customers(session, OPERATOR, content, {"Company": "name"},
                                         defaults={"currency": "gbp", "channels": "5"})
    assert {(c.currency, c.channels) for c in result.created} == {("GBP", 5)}


def test_mapping_problems_are_reported(session: Session) -> None:
    with pytest.raises(ValidationFailed) as info:
        csv_import.import_customers(session, OPERATOR, GOOD,
                                    {"Nope": "name", "Mail": "colour", "Town": "email"},
                                    defaults={"tax_percent": "500"})
    messages = " ".join(info.value.errors["mapping"])
    assert "no column 'Nope'" in messages and "'colour' is not a customer field" in messages
    assert "currency is required" in messages
    assert "default tax_percent" in info.value.errors
    assert _count(session) == 0


def test_header_row_choice_and_no_header(session: Session) -> None:
    content = "exported by X\nName,Currency\nOne,USD\n"
    result = csv_import.import_customers(session, OPERATOR, content,
                                         {"Name": "name", "Currency": "currency"},
                                         header_row=2)
    assert [c.name for c in result.created] == ["One"]
    bare = "Two\tEUR\nThree\tEUR\n"
    result = csv_import.import_customers(session, OPERATOR, bare,
                                         {"1": "name", "2": "currency"}, header_row=None)
    assert [c.name for c in result.created] == ["Two", "Three"]
    with pytest.raises(ValidationFailed) as info:
        csv_import.import_customers(session, OPERATOR, "Name,Currency\n",
                                    {"Name": "name", "Currency": "currency"})
    assert "file" in info.value.errors


def test_error_row_numbers_follow_the_header_row(session: Session) -> None:
    content = "junk line\nName,Currency\nOk,USD\nBad,???\n"
    with pytest.raises(ValidationFailed) as info:
        csv_import.import_customers(session, OPERATOR, content,
                                    {"Name": "name", "Currency": "currency"}, header_row=2)
    assert list(info.value.errors) == ["row 4, column Currency"]


def test_dry_run_changes_nothing(session: Session) -> None:
    result = csv_import.import_customers(session, OPERATOR, GOOD, MAP, dry_run=True)
    assert (result.row_count, result.created) == (2, [])
    assert _count(session) == 0


def test_preview_shows_columns_rows_and_errors(session: Session) -> None:
    bare = csv_import.preview_import(session, VIEWER, GOOD.encode("cp1252"))
    assert bare.columns == ["Company", "Mail", "Money", "Town"]
    assert bare.delimiter == ";" and bare.row_count == 2 and bare.errors == {}
    assert bare.rows[0]["Town"] == "Paris"
    content = GOOD + "Gamma;bad;EUR;Rome\n"
    mapped = csv_import.preview_import(session, VIEWER, content, MAP, limit=1)
    assert mapped.mapped == [{"name": "Acme Telecom", "email": "noc@acme.example",
                              "currency": "EUR", "city": "Paris"}]
    assert list(mapped.errors) == ["row 4, column Mail"]


def test_import_needs_write(session: Session) -> None:
    with pytest.raises(PermissionDenied):
        csv_import.import_customers(session, VIEWER, GOOD, MAP)


def test_non_utf8_file_is_read(session: Session) -> None:
    content = "Company,Money\nCafé Télécom,EUR\n".encode("cp1252")
    result = csv_import.import_customers(session, OPERATOR, content,
                                         {"Company": "name", "Money": "currency"})
    assert result.created[0].name == "Café Télécom"


def test_typed_fields_are_parsed_from_text(session: Session) -> None:
    content = ('Name,Cur,Tax,Limit,Portal,Addr\n'
               'Typed,chf,7.7,-20.5,yes,"Bahnhofstr. 1\nPostfach"\n')
    result = csv_import.import_customers(session, OPERATOR, content, {
        "Name": "name", "Cur": "currency", "Tax": "tax_percent", "Limit": "debit_limit",
        "Portal": "portal_access", "Addr": "address_lines"})
    [customer] = result.created
    assert (customer.currency, str(customer.tax_percent), str(customer.debit_limit)) == (
        "CHF", "7.7", "-20.5")
    assert customer.portal_access is True
    assert customer.address_lines == "Bahnhofstr. 1\nPostfach"
