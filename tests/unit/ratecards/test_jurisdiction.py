"""The NPA -> state table derived from phonenumbers, uploads, and classification."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import ValidationFailed
from orchestrator.ratecards import jurisdiction
from orchestrator.ratecards.jurisdiction import Jurisdictions, Region


@pytest.fixture(scope="module")
def derived() -> dict[str, Region]:
    return jurisdiction.derive_table()


def test_derived_table_covers_every_state_and_knows_well_known_area_codes(
        derived: dict[str, Region]) -> None:
    us_regions = {r.region for r in derived.values() if r.country == "US"}
    assert us_regions >= set(jurisdiction.US_STATES.values())
    table = Jurisdictions(derived)
    # Independent facts about the NANP: 212 Manhattan, 415 San Francisco, 201 New
    # Jersey, 312 Chicago, 416 Toronto.
    assert table.region("+12125550100") == Region("US", "NY")
    assert table.region("4155550100") == Region("US", "CA")
    assert table.region("12015550100") == Region("US", "NJ")
    assert table.region("13125550100") == Region("US", "IL")
    assert table.region("14165550100") == Region("CA", "ON")
    assert len([p for p in derived if len(p) == 4]) > 300


def test_classify(derived: dict[str, Region]) -> None:
    table = Jurisdictions(derived)
    assert table.classify("12125550100", "13155550100") == "intra"   # NY -> NY
    assert table.classify("12125550100", "14155550100") == "inter"   # NY -> CA
    assert table.classify("442071234567", "14155550100") == "indeterminate"
    assert table.classify(None, "14155550100") == "indeterminate"
    assert table.classify("anonymous", "14155550100") == "indeterminate"
    assert table.classify("14165550100", "14155550100") == "indeterminate"  # Toronto


def test_finer_rows_win_by_longest_prefix() -> None:
    table = Jurisdictions({"1201": Region("US", "NJ"), "1201555": Region("US", "NY")})
    assert table.region("12015550000") == Region("US", "NY")
    assert table.region("12014440000") == Region("US", "NJ")
    assert table.region("19995550000") is None


def test_derive_from_given_data_drops_rows_equal_to_their_npa() -> None:
    data = {"1201": {"en": "New Jersey"}, "1201200": {"en": "Jersey City, NJ"},
            "1999555": {"en": "Boise, ID"}, "1999556": {"en": "Boise, ID"},
            "1201777": {"en": "Somewhere, NY"}, "44": {"en": "United Kingdom"}}
    table = jurisdiction.derive_table(data)
    assert table == {"1201": Region("US", "NJ"), "1201777": Region("US", "NY"),
                     "1999": Region("US", "ID")}


def test_upload_round_trip_and_bad_rows(tmp_path: Path) -> None:
    text = jurisdiction.table_to_csv({"1201": Region("US", "NJ"), "1416": Region("CA", "ON")})
    assert jurisdiction.save_upload(tmp_path, text) == 2
    loaded = jurisdiction.load(tmp_path)
    assert len(loaded) == 2 and loaded.region("12015550000") == Region("US", "NJ")

    bad = "prefix,country,region\n1201,US,NJ\n12x1,US,NJ\n1202,MX,dc\n1201,US,NY\n"
    with pytest.raises(ValidationFailed) as caught:
        jurisdiction.save_upload(tmp_path, bad)
    errors = caught.value.errors
    assert set(errors) == {"row 3", "row 4", "row 5"}
    assert any("country" in m for m in errors["row 4"]) and any("region" in m
                                                               for m in errors["row 4"])
    assert "appears twice" in errors["row 5"][0]
    assert len(jurisdiction.load(tmp_path)) == 2  # the bad upload changed nothing

    with pytest.raises(ValidationFailed):
        jurisdiction.parse_csv("npa,state\n201,NJ\n")
