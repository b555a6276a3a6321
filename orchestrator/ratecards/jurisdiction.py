"""US jurisdiction: which state an NANP number belongs to, and inter/intra/indeterminate.

The shipped table is derived from the ``phonenumbers`` package's geocoding data:
every NANP area code (NPA) lies in one state or province, so the table maps
``1NPA`` -> region; where the data is finer (``1NPANXX`` -> "City, ST"), those rows
are kept too and win by longest prefix. An operator can replace the table with an
uploaded CSV (``prefix,country,region``) saved as ``var_dir/npa_regions.csv``.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import ValidationFailed

US_STATES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA",
    "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA",
    "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD",
    "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS",
    "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV",
    "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY",
    "North Carolina": "NC", "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK",
    "Oregon": "OR", "Pennsylvania": "PA", "Rhode Island": "RI", "South Carolina": "SC",
    "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX", "Utah": "UT", "Vermont": "VT",
    "Virginia": "VA", "Washington State": "WA", "Washington D.C.": "DC",
    "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
}
CA_PROVINCES = {
    "Alberta": "AB", "British Columbia": "BC", "British Colombia": "BC", "Manitoba": "MB",
    "New Brunswick": "NB", "Newfoundland and Labrador": "NL", "Ontario": "ON",
    "Quebec": "QC", "Saskatchewan": "SK", "Nova Scotia/Prince Edward Island": "NS",
    "Northwest Territories/Nunavut/Yukon": "NT",
}
US_CODES = frozenset(US_STATES.values())
CA_CODES = frozenset(CA_PROVINCES.values())
TABLE_FILE = "npa_regions.csv"
HEADER = ("prefix", "country", "region")


@dataclass(frozen=True)
class Region:
    country: str  # "US" or "CA"
    region: str   # two-letter state or province code


def _region_of_label(label: str) -> Region | None:
    """'New Jersey' or 'Jersey City, NJ' -> Region; None for anything else."""
    if label in US_STATES:
        return Region("US", US_STATES[label])
    if label in CA_PROVINCES:
        return Region("CA", CA_PROVINCES[label])
    code = label.rsplit(", ", 1)[-1] if ", " in label else ""
    if code in US_CODES:
        return Region("US", code)
    if code in CA_CODES:
        return Region("CA", code)
    return None


def derive_table(geodata: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, Region]:
    """prefix ('1NPA' or longer) -> Region from phonenumbers' English geocoding data."""
    if geodata is None:
        from phonenumbers.geodata import GEOCODE_DATA
        geodata = GEOCODE_DATA
    table: dict[str, Region] = {}
    finer: dict[str, Counter[Region]] = {}
    for prefix, names in geodata.items():
        if not prefix.startswith("1") or len(prefix) < 4:
            continue
        region = _region_of_label(names.get("en", ""))
        if region is None:
            continue
        if len(prefix) == 4:
            table[prefix] = region
        else:
            finer.setdefault(prefix[:4], Counter())[region] += 1
            table[prefix] = region
    for npa, counts in finer.items():  # an NPA known only through its exchanges
        table.setdefault(npa, counts.most_common(1)[0][0])
    # Drop finer rows that say the same as their NPA: the table stays small.
    return {p: r for p, r in table.items() if len(p) == 4 or table.get(p[:4]) != r}


def table_to_csv(table: Mapping[str, Region]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for prefix in sorted(table):
        writer.writerow((prefix, table[prefix].country, table[prefix].region))
    return out.getvalue()


def parse_csv(text: str) -> dict[str, Region]:
    """An uploaded table; every bad row is named and nothing is taken if any is bad."""
    rows = list(csv.reader(io.StringIO(text)))
    errors: dict[str, list[str]] = {}
    if not rows or tuple(c.strip().lower() for c in rows[0]) != HEADER:
        raise ValidationFailed.one("file", f"the first row must be {','.join(HEADER)}")
    table: dict[str, Region] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 3:
            errors[f"row {number}"] = [f"has {len(row)} columns, expected 3"]
            continue
        prefix, country, region = (cell.strip() for cell in row)
        problems = []
        if not (prefix.isdigit() and prefix.startswith("1") and 4 <= len(prefix) <= 7):
            problems.append("prefix: must be 1 followed by 3 to 6 digits")
        elif prefix in table:
            problems.append(f"prefix: {prefix} appears twice")
        if country not in ("US", "CA"):
            problems.append("country: must be US or CA")
        if len(region) != 2 or not region.isalpha() or not region.isupper():
            problems.append("region: must be a two-letter code such as NJ")
        if problems:
            errors[f"row {number}"] = problems
        else:
            table[prefix] = Region(country, region)
    if errors:
        raise ValidationFailed(errors)
    if not table:
        raise ValidationFailed.one("file", "has no rows")
    return table


class Jurisdictions:
    """Longest-prefix lookups over one table."""

    def __init__(self, table: Mapping[str, Region]) -> None:
        self._table = dict(table)
        self._lengths = sorted({len(p) for p in self._table}, reverse=True)

    def __len__(self) -> int:
        return len(self._table)

    def region(self, number: str) -> Region | None:
        digits = number.lstrip("+")
        if len(digits) == 10:  # national form: NANP without the country code
            digits = "1" + digits
        if not digits.isdigit() or len(digits) != 11 or not digits.startswith("1"):
            return None
        for length in self._lengths:
            found = self._table.get(digits[:length])
            if found is not None:
                return found
        return None

    def classify(self, caller: str | None, callee: str) -> str:
        """PRODUCT.md §3: same US state -> intra, different -> inter, else indeterminate."""
        to = self.region(callee)
        origin = self.region(caller) if caller else None
        if origin is None or to is None or origin.country != "US" or to.country != "US":
            return "indeterminate"
        return "intra" if origin.region == to.region else "inter"


def load(var_dir: Path) -> Jurisdictions:
    """The operator's uploaded table if there is one, else the derived one."""
    uploaded = var_dir / TABLE_FILE
    if uploaded.exists():
        return Jurisdictions(parse_csv(uploaded.read_text(encoding="utf-8")))
    return Jurisdictions(derive_table())


def save_upload(var_dir: Path, text: str) -> int:
    """Validate and store an uploaded table; returns its row count."""
    table = parse_csv(text)
    var_dir.mkdir(parents=True, exist_ok=True)
    target = var_dir / TABLE_FILE
    tmp = target.with_suffix(".tmp")
    tmp.write_text(table_to_csv(table), encoding="utf-8")
    tmp.replace(target)
    return len(table)
