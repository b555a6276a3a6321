"""Helpers of the card email tests: a migrated database, a real SMTP server (aiosmtpd),
a real job consumer, customer cards whose revisions are written and activated the way
imports and builds do it, and the attachment read back row by row."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.actor import Actor
from orchestrator.db import make_engine, session_factory, upgrade
from orchestrator.jobs import queue as jobqueue
from orchestrator.notify.models import Message
from orchestrator.ratecards import customer_cards, revisions
from orchestrator.ratecards.deck.store import write_rates
from orchestrator.ratecards.deck.validate import CANONICAL_SCHEMA
from orchestrator.ratecards.models import CustomerCard, Rate, RateRevision
from orchestrator.ratecards.money import parse_units, to_decimal
from tests.support.dataplane import test_settings
from tests.support.jobs import running_consumer
from tests.support.mail import Inbox, smtp_server

ADMIN = Actor(None, "alice", "admin")
OPERATOR = Actor(None, "oscar", "operator")
VIEWER = Actor(None, "vera", "viewer")
T1 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
T2 = datetime(2026, 11, 9, 9, 30, tzinfo=UTC)
T3 = datetime(2026, 11, 16, 9, 30, tzinfo=UTC)
# prefix, name, rate, mcd, pulse, connect fee, status
Row = tuple[str, str, str, int, int, str, str]
BASE: list[Row] = [
    ("44", "United Kingdom", "0.0100", 60, 60, "0", "active"),
    ("4420", "UK London", "0.0080", 30, 6, "0.01", "active"),
    ("447", "UK Mobile", "0.0500", 1, 1, "0", "active"),
    ("33", "France", "0.0123", 60, 1, "0", "active"),
    ("49", "Germany, fixed", "0.0150", 1, 1, "0", "blocked"),
]


@dataclass
class World:
    sessions: sessionmaker[Session]
    inbox: Inbox
    queue: jobqueue.JobQueue


@contextmanager
def mail_world(tmp_path: Path, smtp_port: int | None = None) -> Iterator[World]:
    """``smtp_port``: send there instead of to the running server (one that is down)."""
    with smtp_server() as inbox:
        settings = test_settings(tmp_path, smtp_host="127.0.0.1",
                                 smtp_port=smtp_port or inbox.port, notify_attempts=2,
                                 smtp_from="rates@switch.test", notify_retry_seconds=0.2)
        settings.ensure_dirs()
        upgrade(settings.db_url)
        engine = make_engine(settings.db_url)
        previous = jobqueue.configured()
        queue = jobqueue.configure(settings)
        jobqueue.load_task_modules()
        try:
            with running_consumer(queue):
                yield World(session_factory(engine), inbox, queue)
        finally:
            engine.dispose()
            if previous is not None:
                jobqueue.configure(previous.settings)
            else:
                jobqueue.reset()


def frame(rows: Sequence[Row]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"prefix": p, "name": n, "rate": parse_units(r), "inter": None, "intra": None,
          "mcd": m, "pulse": u, "connect_fee": parse_units(f), "status": s}
         for p, n, r, m, u, f, s in rows], schema=CANONICAL_SCHEMA)


def make_card(session: Session, name: str = "Retail", public_name: str = "Retail Premium",
              currency: str = "USD") -> CustomerCard:
    return customer_cards.create_customer_card(session, ADMIN, {
        "name": name, "public_name": public_name, "currency": currency,
        "notice_days": 0, "external": True})


def go_live(session: Session, card: CustomerCard, rows: Sequence[Row],
            at: datetime) -> RateRevision:
    """A new revision with ``rows`` (written like an import), activated at ``at``."""
    revision = revisions.new_revision(session, card, "test")
    revision.row_count = write_rates(session.connection(), revision.id, frame(rows))
    revisions.store_changes(session, revision)
    return revisions.activate(session, ADMIN, card, revision.id, now=at)


def changed(rows: Sequence[Row], **rates: str) -> list[Row]:
    """``rows`` with new rates for some prefixes (``p44="0.02"``)."""
    return [(p, n, rates.get(f"p{p}", r), m, u, f, s) for p, n, r, m, u, f, s in rows]


def wait_sent(world: World, count: int, timeout: float = 15) -> list[Message]:
    """The outbox once ``count`` messages are sent (or failed)."""
    deadline = time.monotonic() + timeout
    while True:
        with world.sessions() as session:
            done = list(session.scalars(select(Message).where(
                Message.status.in_(("sent", "failed"))).order_by(Message.id)))
        if len(done) >= count or time.monotonic() > deadline:
            return done
        time.sleep(0.05)


def card_rates(session: Session, revision_id: int) -> list[dict[str, Any]]:
    return [{"prefix": r.prefix, "name": r.name, "rate": to_decimal(r.rate),
             "mcd": r.mcd, "pulse": r.pulse, "connect_fee": to_decimal(r.connect_fee),
             "status": r.status}
            for r in session.scalars(select(Rate).where(Rate.revision_id == revision_id)
                                     .order_by(Rate.prefix))]


def csv_rates(content: bytes) -> list[dict[str, Any]]:
    table = pl.read_csv(io.BytesIO(content), infer_schema=False)
    assert table.columns == ["prefix", "name", "rate", "inter", "intra", "mcd", "pulse",
                             "connect_fee", "status"]
    return [{"prefix": r["prefix"], "name": r["name"] or "", "rate": Decimal(r["rate"]),
             "mcd": int(r["mcd"]), "pulse": int(r["pulse"]),
             "connect_fee": Decimal(r["connect_fee"]), "status": r["status"]}
            for r in table.iter_rows(named=True)]


def xlsx_rates(content: bytes) -> list[dict[str, Any]]:
    table = pl.read_excel(io.BytesIO(content), engine="calamine")
    assert table.columns[:3] == ["prefix", "name", "rate"]
    # money cells are numbers: a double holds each of these rates exactly as written
    return [{"prefix": str(r["prefix"]), "name": r["name"] or "",
             "rate": Decimal(str(r["rate"])), "mcd": int(r["mcd"]),
             "pulse": int(r["pulse"]), "connect_fee": Decimal(str(r["connect_fee"])),
             "status": r["status"]} for r in table.iter_rows(named=True)]
