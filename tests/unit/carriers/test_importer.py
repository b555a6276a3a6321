"""CSV import at the service level: mapping, detection, existing names, gateway specs."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.carriers import importer, service
from orchestrator.carriers.models import Carrier
from orchestrator.carriers.schemas import CarrierCreate, GatewayCreate
from orchestrator.errors import PermissionDenied, ValidationFailed
from tests.unit.carriers.conftest import ADMIN, VIEWER


@pytest.mark.parametrize(("spec", "expected"), [
    ("192.0.2.1", {"host": "192.0.2.1"}),
    ("gw.example:5080", {"host": "gw.example", "port": "5080"}),
    ("gw.example/tcp,weight=7", {"host": "gw.example", "transport": "tcp", "weight": "7"}),
    ("[2001:db8::1]:5062/udp", {"host": "2001:db8::1", "port": "5062", "transport": "udp"}),
    ("2001:db8::1", {"host": "2001:db8::1"}),
    ("gw.example,enabled=no", {"host": "gw.example", "enabled": "no"}),
])
def test_gateway_spec(spec: str, expected: dict[str, str]) -> None:
    assert importer.parse_gateway_spec(spec) == GatewayCreate.from_mapping(expected)


@pytest.mark.parametrize("spec", ["gw,colour=red", "[2001:db8::1", "[2001:db8::1]5060"])
def test_bad_gateway_spec(spec: str) -> None:
    with pytest.raises(ValueError, match=r"unknown option|\[addr\]:port"):
        importer.parse_gateway_spec(spec)


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Carrier)) or 0


def test_header_names_map_themselves_and_delimiter_is_detected(session: Session) -> None:
    text = "\ufeffname\tcurrency\tpre_ring_timeout\tportal_access\nA\tUSD\t12\tyes\nB\tGBP\n"
    result = importer.import_csv(session, ADMIN, text)
    assert [c.name for c in result.created] == ["A", "B"]
    assert (result.created[0].pre_ring_timeout, result.created[0].portal_access) == (12, True)
    assert result.created[1].pre_ring_timeout == 30  # short row: defaults


def test_existing_name_is_a_row_error(session: Session) -> None:
    service.create_carrier(session, ADMIN, CarrierCreate(name="Acme", currency="USD"))
    with pytest.raises(ValidationFailed) as info:
        importer.import_csv(session, ADMIN, "name,currency\nNew,USD\nACME,USD\n")
    assert info.value.errors == {"row 3, column name": ["'ACME' is already used by an "
                                                        "existing carrier"]}
    assert count(session) == 1


def test_mapping_problems_are_reported_together(session: Session) -> None:
    with pytest.raises(ValidationFailed) as info:
        importer.import_csv(session, ADMIN, "Carrier,Money\nA,USD\n",
                            mapping={"nom": "Carrier", "currency": "Cash"})
    messages = " ".join(info.value.errors["map"])
    assert "'nom' is not a carrier field" in messages
    assert "column 'Cash' is not in the header" in messages
    assert "name: no column maps to it" in messages


def test_empty_file_and_roles(session: Session) -> None:
    with pytest.raises(ValidationFailed, match="file: is empty"):
        importer.import_csv(session, ADMIN, "  \n")
    with pytest.raises(PermissionDenied):
        importer.import_csv(session, VIEWER, "name,currency\nA,USD\n")
    with pytest.raises(ValidationFailed, match="map"):
        importer.parse_mapping("name")
    assert importer.parse_mapping(" name = Carrier , currency=Cur") == {
        "name": "Carrier", "currency": "Cur"}


def test_many_bad_rows_are_listed_up_to_a_limit(session: Session) -> None:
    text = "name,currency\n" + "".join(f"N{i},BAD\n" for i in range(importer.MAX_ERRORS + 5))
    with pytest.raises(ValidationFailed) as info:
        importer.import_csv(session, ADMIN, text)
    assert len(info.value.errors) == importer.MAX_ERRORS + 1
    assert info.value.errors["file"] == ["5 more problems not shown"]
    assert "row 2, column currency" in info.value.errors


def test_explicit_delimiter(session: Session) -> None:
    result = importer.import_csv(session, ADMIN, "name|currency\nA|USD\n", delimiter="|",
                                 dry_run=True)
    assert result.rows == 1 and result.created == [] and count(session) == 0
    tabbed = importer.import_csv(session, ADMIN, "name\tcurrency\nA\tUSD\n", delimiter="tab")
    assert [c.currency for c in tabbed.created] == ["USD"]
    with pytest.raises(ValidationFailed, match="delimiter"):
        importer.import_csv(session, ADMIN, "name,currency\nA,USD\n", delimiter=",,")
