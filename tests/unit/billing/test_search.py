"""CDR search (orchestrator/billing/search.py) and the streamed CSV export
(orchestrator/billing/cdr_export.py) on a migrated SQLite database."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from orchestrator.actor import SYSTEM, Actor
from orchestrator.billing import cdr_export, search
from orchestrator.billing.search import CdrFilter, parse_filter
from orchestrator.carriers.service import create_carrier
from orchestrator.customers.service import create_customer
from orchestrator.db import make_engine, session_factory, upgrade
from orchestrator.errors import NotFound, PermissionDenied, ValidationFailed
from orchestrator.media.models import DtmfCount
from tests.support.cdrs import add_cdrs

VIEWER = Actor(3, "vic", "viewer")
T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
DAY = CdrFilter(start=T0 - timedelta(hours=1), end=T0 + timedelta(hours=23))


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cdr-search") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def session(migrated: Path, tmp_path: Path) -> Iterator[Session]:
    path = tmp_path / "s.db"
    path.write_bytes(migrated.read_bytes())
    engine = make_engine(f"sqlite:///{path}")
    with session_factory(engine)() as s:
        yield s
    engine.dispose()


@pytest.fixture
def world(session: Session) -> dict[str, int]:
    """Two customers, two carriers, and eight CDRs a minute apart from T0."""
    acme = create_customer(session, SYSTEM, {"name": "Acme", "currency": "USD"})
    bolt = create_customer(session, SYSTEM, {"name": "Bolt", "currency": "EUR"})
    tel = create_carrier(session, SYSTEM, {"name": "TelCo", "currency": "USD"})
    far = create_carrier(session, SYSTEM, {"name": "FarNet", "currency": "USD"})
    minute = timedelta(minutes=1)
    add_cdrs(session,
             {"start_at": T0, "customer_id": acme.id, "carrier_id": tel.id,
              "dialled": "441234567", "duration_ms": 60_000, "call_id": "c0"},
             {"start_at": T0 + minute, "customer_id": acme.id, "carrier_id": far.id,
              "dialled": "4420999", "code": 486, "reason": "Busy Here", "call_id": "c1"},
             {"start_at": T0 + 2 * minute, "customer_id": bolt.id, "carrier_id": tel.id,
              "dialled": "33123", "duration_ms": 5_000, "caller": "+15550001",
              "call_id": "c2"},
             {"start_at": T0 + 3 * minute, "customer_id": bolt.id, "carrier_id": None,
              "dialled": "4_1%", "code": 403, "call_id": "c3"},
             {"start_at": T0 + 4 * minute, "customer_id": None, "code": 401,
              "dialled": "491", "call_id": "c4"},
             {"start_at": T0 + 5 * minute, "customer_id": acme.id, "carrier_id": tel.id,
              "dialled": "4412", "duration_ms": 1_000, "call_id": "c5"},
             {"start_at": T0 + 5 * minute, "customer_id": acme.id, "carrier_id": tel.id,
              "dialled": "4413", "code": 503, "call_id": "c6"},
             # outside the day: a day before
             {"start_at": T0 - timedelta(days=1), "customer_id": acme.id,
              "dialled": "44", "duration_ms": 1_000, "call_id": "old"})
    session.add(DtmfCount(call_id="c0", events=4, digits="1234", first_at=T0, last_at=T0))
    session.flush()
    return {"acme": acme.id, "bolt": bolt.id, "tel": tel.id, "far": far.id}


def call_ids(flt: CdrFilter, session: Session, **kwargs: object) -> list[str]:
    page = search.search(session, SYSTEM, flt, **kwargs)  # type: ignore[arg-type]
    return [row.cdr.call_id for row in page.items]


def test_newest_first_with_names_and_dtmf(session: Session, world: dict[str, int]) -> None:
    page = search.search(session, SYSTEM, DAY)
    # c5 and c6 start together: the higher id (c6, inserted later) comes first
    assert [r.cdr.call_id for r in page.items] == ["c6", "c5", "c4", "c3", "c2", "c1", "c0"]
    first = page.items[-1]
    assert (first.customer_name, first.carrier_name, first.dtmf_events) == ("Acme", "TelCo", 4)
    assert page.items[3].carrier_name is None and page.items[2].customer_name is None
    assert page.next_cursor is None and page.prev_cursor is None


@pytest.mark.parametrize(("raw", "expected"), [
    ({"customer_id": "acme"}, ["c6", "c5", "c1", "c0"]),
    ({"carrier_id": "tel"}, ["c6", "c5", "c2", "c0"]),
    ({"dialled": "44"}, ["c6", "c5", "c1", "c0"]),
    ({"dialled": "4412"}, ["c5", "c0"]),
    ({"result": "answered"}, ["c5", "c2", "c0"]),
    ({"result": "failed"}, ["c6", "c4", "c3", "c1"]),
    ({"result": "486"}, ["c1"]),
    ({"caller": "+1555"}, ["c2"]),
    ({"call_id": "c3"}, ["c3"]),
    ({"customer_id": "bolt", "result": "answered"}, ["c2"]),
])
def test_each_filter(session: Session, world: dict[str, int], raw: dict[str, str],
                     expected: list[str]) -> None:
    values = {k: str(world.get(v, v)) for k, v in raw.items()}
    flt = parse_filter({"from": "2026-03-01T09:00:00Z", "to": "2026-03-02", **values})
    assert call_ids(flt, session) == expected


def test_prefix_wildcards_match_themselves(session: Session, world: dict[str, int]) -> None:
    """A prefix is not a LIKE pattern: _ and % are plain characters."""
    with pytest.raises(ValidationFailed):
        parse_filter({"dialled": "4_"})  # not a number
    flt = CdrFilter(start=DAY.start, end=DAY.end, dialled="4_")
    assert call_ids(flt, session) == ["c3"]


def test_time_range_is_half_open(session: Session, world: dict[str, int]) -> None:
    flt = CdrFilter(start=T0 + timedelta(minutes=1), end=T0 + timedelta(minutes=3))
    assert call_ids(flt, session) == ["c2", "c1"]
    whole = CdrFilter(start=T0 - timedelta(days=2), end=T0 + timedelta(days=1))
    assert call_ids(whole, session)[-1] == "old"


def test_keyset_pages_cover_every_row_once_both_ways(session: Session) -> None:
    # 23 CDRs, some sharing a start time (ties broken by id)
    add_cdrs(session, *({"start_at": T0 + timedelta(seconds=n // 3), "call_id": f"k{n}"}
                        for n in range(23)))
    flt = CdrFilter(start=T0, end=T0 + timedelta(hours=1))
    seen: list[str] = []
    pages = []
    cursor = None
    while True:
        page = search.search(session, SYSTEM, flt, cursor=cursor, limit=5)
        pages.append(page)
        seen += [r.cdr.call_id for r in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(pages) == 5 and [len(p.items) for p in pages] == [5, 5, 5, 5, 3]
    assert sorted(seen) == sorted(f"k{n}" for n in range(23))
    assert seen == [f"k{n}" for n in reversed(range(23))]   # newest (highest id) first
    assert pages[0].prev_cursor is None and pages[1].prev_cursor is not None
    # walking back from the last page gives the same pages
    back = search.search(session, SYSTEM, flt, cursor=pages[-1].prev_cursor, limit=5)
    assert [r.cdr.call_id for r in back.items] == [r.cdr.call_id for r in pages[-2].items]
    first = search.search(session, SYSTEM, flt, cursor=pages[1].prev_cursor, limit=5)
    assert [r.cdr.call_id for r in first.items] == [r.cdr.call_id for r in pages[0].items]
    assert first.prev_cursor is None and first.next_cursor is not None


def test_bad_input_is_named(session: Session) -> None:
    with pytest.raises(ValidationFailed) as bad:
        parse_filter({"from": "2026-03-02", "to": "2026-03-01", "customer_id": "x",
                      "result": "maybe", "dialled": "44 12"})
    assert set(bad.value.errors) == {"from", "customer_id", "result", "dialled"}
    assert "before to" in bad.value.errors["from"][0]
    with pytest.raises(ValidationFailed) as when:
        parse_filter({"from": "yesterday"})
    assert "ISO 8601" in when.value.errors["from"][0]
    with pytest.raises(ValidationFailed) as early:
        parse_filter({"to": "1969-12-31"})
    assert "out of range" in early.value.errors["to"][0]
    for cursor in ("garbage", "eyJhIjoxfQ", ""):
        if not cursor:
            continue
        with pytest.raises(ValidationFailed) as cur:
            search.search(session, SYSTEM, DAY, cursor=cursor)
        assert "cursor" in cur.value.errors
    with pytest.raises(ValidationFailed):
        search.search(session, SYSTEM, DAY, limit=1001)


def test_default_period_is_the_last_24_hours() -> None:
    now = datetime(2026, 3, 5, 12, 30, tzinfo=UTC)
    flt = parse_filter({}, now=now)
    assert (flt.start, flt.end) == (datetime(2026, 3, 4, 12, 30, tzinfo=UTC), now)
    local = parse_filter({"from": "2026-03-01T12:00+02:00", "to": "2026-03-01T13:00"})
    assert local.start == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def test_get_one_and_not_found(session: Session, world: dict[str, int]) -> None:
    page = search.search(session, SYSTEM, DAY)
    row = search.get_cdr(session, SYSTEM, page.items[-1].cdr.id)
    assert row.cdr.call_id == "c0" and row.dtmf_events == 4
    assert row.as_dict()["customer_name"] == "Acme" and row.as_dict()["duration_ms"] == 60_000
    with pytest.raises(NotFound):
        search.get_cdr(session, SYSTEM, 999_999)
    with pytest.raises(PermissionDenied):
        search.get_cdr(session, Actor(None, "nobody", "none"), row.cdr.id)
    assert search.get_cdr(session, VIEWER, row.cdr.id).cdr.id == row.cdr.id


def test_export_streams_every_row_with_values(session: Session, world: dict[str, int],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cdr_export, "CHUNK_ROWS", 2)
    monkeypatch.setattr(cdr_export, "BATCH", 3)
    session.execute(search.Cdr.__table__.update()
                    .where(search.Cdr.call_id == "c0")
                    .values(sell_charge=1_234_500_000, sell_currency="USD",
                            caller="=HYPERLINK(1)"))
    chunks = list(cdr_export.export_csv(session, SYSTEM, DAY))
    assert len(chunks) == 4  # header + rows 1-2, 3-4, 5-6, 7
    rows = list(csv.DictReader(io.StringIO("".join(chunks))))
    assert [r["call_id"] for r in rows] == ["c0", "c1", "c2", "c3", "c4", "c5", "c6"]
    first = rows[0]
    assert first["customer_name"] == "Acme" and first["carrier_name"] == "TelCo"
    assert first["dtmf_events"] == "4" and first["duration_ms"] == "60000"
    assert first["sell_charge"] == "12.34500000" and first["start_at"] == "2026-03-01T10:00:00Z"
    assert first["caller"] == "'=HYPERLINK(1)"
    assert rows[2]["caller"] == "+15550001"  # a number with its + stays as it is
    assert rows[3]["carrier_name"] == "" and rows[1]["reason"] == "Busy Here"
    assert rows[1]["dtmf_events"] == "0" and rows[1]["pdd_ms"] == "" and rows[1]["cseq"] == "1"
    assert set(rows[0]) >= {"id", "node", "from_tag", "cseq", "profit", "tried", "routed"}


@pytest.mark.parametrize("rare_up_to", [0, 20_000])
def test_prefix_pages_the_same_by_either_index(session: Session, rare_up_to: int,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A dialled prefix is searched through the number index when few numbers have it
    (SQLite), else by walking the time index: the pages are the same."""
    monkeypatch.setattr(search, "RARE_PREFIX_ROWS", rare_up_to)
    add_cdrs(session, *({"start_at": T0 + timedelta(seconds=n // 2), "call_id": f"p{n}",
                         "dialled": ("4420" if n % 3 else "4930") + str(n)}
                        for n in range(30)))
    flt = CdrFilter(start=T0, end=T0 + timedelta(hours=1), dialled="442")
    seen: list[str] = []
    cursor = None
    while True:
        page = search.search(session, SYSTEM, flt, cursor=cursor, limit=4)
        seen += [r.cdr.call_id for r in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"p{n}" for n in reversed(range(30)) if n % 3]
    back = search.search(session, SYSTEM, flt, cursor=page.prev_cursor, limit=4)
    assert [r.cdr.call_id for r in back.items] == seen[-len(page.items) - 4:-len(page.items)]
