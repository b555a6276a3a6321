"""Canonical frames in and out of ``rates`` on a migrated SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import orchestrator.models  # noqa: F401  (every table's mapper)
from orchestrator.carriers.models import Carrier
from orchestrator.db import make_engine, upgrade
from orchestrator.ratecards.deck import (
    CANONICAL_SCHEMA,
    page_rates,
    read_rates,
    write_rates,
)
from orchestrator.ratecards.models import ProviderCard, RateRevision


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'orchestrator.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def new_revision(engine: Engine, number: int = 1) -> int:
    with Session(engine) as session:
        carrier = session.query(Carrier).filter_by(name="Carrier").one_or_none()
        if carrier is None:
            carrier = Carrier(name="Carrier", currency="USD")
            session.add(carrier)
            session.flush()
            session.add(ProviderCard(name="Card", carrier_id=carrier.id, currency="USD"))
            session.flush()
        card = session.query(ProviderCard).filter_by(name="Card").one()
        revision = RateRevision(provider_card_id=card.id, number=number)
        session.add(revision)
        session.commit()
        return revision.id


def deck(n: int) -> pl.DataFrame:
    """n canonical rows: prefixes 1000.., every 7th with inter/intra, some blocked."""
    i = pl.int_range(0, n, eager=True)
    return pl.DataFrame({"i": i}).select(
        (pl.col("i") + 1000).cast(pl.String).alias("prefix"),
        pl.concat_str([pl.lit("Dest "), (pl.col("i") % 13).cast(pl.String)]).alias("name"),
        (pl.col("i") * 1_234).alias("rate"),
        pl.when(pl.col("i") % 7 == 0).then(pl.col("i") * 3).alias("inter"),
        pl.when(pl.col("i") % 7 == 0).then(pl.col("i") * 2).alias("intra"),
        (pl.col("i") % 60 + 1).alias("mcd"),
        (pl.col("i") % 6 + 1).alias("pulse"),
        (pl.col("i") % 3).alias("connect_fee"),
        pl.when(pl.col("i") % 11 == 0).then(pl.lit("blocked")).otherwise(pl.lit("active"))
        .alias("status"),
    ).cast(CANONICAL_SCHEMA)  # type: ignore[arg-type]


def test_write_then_read_gives_the_same_frame(engine: Engine) -> None:
    revision = new_revision(engine)
    frame = deck(5_000)
    with engine.connect() as connection:
        assert write_rates(connection, revision, frame, chunk_rows=999) == 5_000
        connection.commit()
    with engine.connect() as connection:
        back = read_rates(connection, revision)
        count = connection.execute(text("SELECT count(*) FROM rates")).scalar_one()
    assert count == 5_000
    assert back.schema == frame.schema
    assert back.equals(frame)


def test_revisions_are_separate(engine: Engine) -> None:
    first, second = new_revision(engine, 1), new_revision(engine, 2)
    with engine.begin() as connection:
        write_rates(connection, first, deck(10))
        write_rates(connection, second, deck(3))
    with engine.connect() as connection:
        assert read_rates(connection, first).height == 10
        assert read_rates(connection, second).height == 3


def test_rollback_leaves_nothing(engine: Engine) -> None:
    revision = new_revision(engine)
    with engine.connect() as connection:
        write_rates(connection, revision, deck(100))
        connection.rollback()
    with engine.connect() as connection:
        assert read_rates(connection, revision).height == 0


def test_a_prefix_twice_is_refused(engine: Engine) -> None:
    revision = new_revision(engine)
    with engine.connect() as connection:
        write_rates(connection, revision, deck(10))
        with pytest.raises(IntegrityError):
            write_rates(connection, revision, deck(1))
        connection.rollback()


def test_unknown_revision_is_refused_by_the_foreign_key(engine: Engine) -> None:
    with engine.connect() as connection, pytest.raises(IntegrityError):
        write_rates(connection, 999, deck(1))


def test_candidates_round_trip(engine: Engine) -> None:
    revision = new_revision(engine)
    frame = deck(3).with_columns(pl.Series("candidates", ["1:5,2:7", None, "3:1"]))
    with engine.begin() as connection:
        write_rates(connection, revision, frame)
    with engine.connect() as connection:
        back = read_rates(connection, revision, with_candidates=True)
    assert back.get_column("candidates").to_list() == ["1:5,2:7", None, "3:1"]


def test_page_by_prefix_uses_a_range_and_counts_it(engine: Engine) -> None:
    revision = new_revision(engine)
    with engine.begin() as connection:
        write_rates(connection, revision, deck(20_000))  # prefixes 1000..20999
    with engine.connect() as connection:
        rows, total = page_rates(connection, revision, prefix="123", limit=5)
        assert total == 110  # 1230-1239, 12300-12399
        assert rows.get_column("prefix").to_list() == ["1230", "12300", "12301", "12302",
                                                       "12303"]
        rows, total = page_rates(connection, revision, prefix="123", offset=109, limit=5)
        assert rows.get_column("prefix").to_list() == ["12399"] and total == 110
        rows, total = page_rates(connection, revision, prefix="9999", limit=5)
        assert rows.get_column("prefix").to_list() == ["9999"] and total == 1
        rows, total = page_rates(connection, revision, prefix="5", limit=2)
        assert total == 1_000  # 5000-5999 (15000.. start with 1)
        assert rows.get_column("prefix").to_list() == ["5000", "5001"]
        assert page_rates(connection, revision, prefix="0")[1] == 0
        plan = " ".join(str(r) for r in connection.execute(text(
            "EXPLAIN QUERY PLAN SELECT prefix FROM rates WHERE revision_id = 1 AND "
            "prefix >= '123' AND prefix < '123:' ORDER BY prefix")))
        assert "USING PRIMARY KEY (revision_id=? AND prefix>? AND prefix<?)" in plan


def test_page_by_name_and_without_search(engine: Engine) -> None:
    revision = new_revision(engine)
    frame = deck(1_000).with_columns(
        pl.when(pl.col("prefix") == "1500").then(pl.lit("Côte d'Ivoire 100%_x"))
        .otherwise(pl.col("name")).alias("name"))
    with engine.begin() as connection:
        write_rates(connection, revision, frame)
    with engine.connect() as connection:
        rows, total = page_rates(connection, revision, name="DEST 12", limit=3)
        assert total == len([i for i in range(1_000) if i % 13 == 12])
        assert rows.get_column("prefix").to_list() == ["1012", "1025", "1038"]
        rows, total = page_rates(connection, revision, name="100%_")
        assert (rows.get_column("prefix").to_list(), total) == (["1500"], 1)
        assert page_rates(connection, revision, name="0%x")[1] == 0  # % is literal
        rows, total = page_rates(connection, revision, prefix="15", name="ivoire")
        assert total == 1
        rows, total = page_rates(connection, revision, offset=998, limit=50)
        assert rows.get_column("prefix").to_list() == ["1998", "1999"]
        assert total == 1_000
        assert page_rates(connection, revision, known_total=7)[1] == 7
        assert page_rates(connection, revision, prefix="1", known_total=7)[1] == 1_000
        assert rows.schema == read_rates(connection, revision).schema
