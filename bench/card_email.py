"""Email rate card (issue 8): the work of one send of a 100,000-prefix customer card
with about 5 % of its prefixes changed since the card last sent to the address.

1. A freshly migrated SQLite database; a customer card with revision 1 of ``--prefixes``
   random prefixes (lengths 4-10, rates with up to 5 decimals, mixed billing),
   activated; then revision 2, activated a week later: ``--changed`` of the prefixes
   changed, split evenly into increases, decreases, closures (removed) and new
   prefixes. Both are written with ``write_rates``, as an import does.
2. **Summary**: ``card_email_summary.summarize`` + ``body`` against revision 1 (the
   revision-diff SQL for the counts, the first 200 changed prefixes, their effective
   dates), and the same for an address never sent to (the "first card" summary).
3. **Send**: ``card_email.email_card`` to one address (the summary, the outbox row
   and its delivery job, the ``card_emails`` row), rolled back.
4. **Attachment**: the ``rate_card`` resolver the delivery job calls (``read_rates``
   + ``export_bytes``) as CSV and as XLSX, with the file sizes.

Each figure is the median of ``--repeat`` runs (min and max shown). The first line
gives the machine, its load and a pure-Python calibration loop.

    .venv/bin/python bench/card_email.py [--prefixes 100000] [--changed 0.05] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from ratecards_io import calibration_ms, machine

import orchestrator.models  # noqa: F401  (every table's mapper)
from orchestrator.actor import Actor
from orchestrator.db import make_engine, session_factory, upgrade
from orchestrator.jobs import queue as jobqueue
from orchestrator.ratecards import card_email, customer_cards, revisions
from orchestrator.ratecards.card_email_summary import body, summarize
from orchestrator.ratecards.deck.store import write_rates
from orchestrator.ratecards.deck.validate import CANONICAL_SCHEMA
from orchestrator.ratecards.models import CardEmail, CustomerCard
from orchestrator.settings import Settings

ADMIN = Actor(None, "bench", "admin")
T1 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TWENTY = [f"copy{n}@bench.example" for n in range(20)]


def decks(prefixes: int, share: float, seed: int = 8) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Revision 1 and revision 2 (``share`` of the prefixes changed, in four kinds)."""
    rng = random.Random(seed)
    keys: set[str] = set()
    while len(keys) < prefixes:
        keys.add(str(rng.randint(1, 9)) + "".join(
            rng.choice("0123456789") for _ in range(rng.randint(3, 9))))
    rows: list[dict[str, Any]] = [
        {"prefix": p, "name": f"Destination {p[:3]}", "rate": rng.randint(1, 99_999) * 1000,
         "inter": None, "intra": None, "mcd": rng.choice((1, 30, 60)),
         "pulse": rng.choice((1, 6, 60)), "connect_fee": 0, "status": "active"}
        for p in sorted(keys)]
    first = pl.DataFrame(rows, schema=CANONICAL_SCHEMA)
    quarter = int(prefixes * share / 4)
    picked = rng.sample(range(prefixes), 3 * quarter)
    up, down, closed = (set(picked[:quarter]), set(picked[quarter:2 * quarter]),
                        set(picked[2 * quarter:]))
    second_rows = []
    for index, row in enumerate(rows):
        if index in closed:
            continue
        changed = dict(row)
        if index in up:
            changed["rate"] = row["rate"] + 100_000
        elif index in down:
            changed["rate"] = max(1000, row["rate"] - 500)
        second_rows.append(changed)
    added = 0
    while added < quarter:
        prefix = "0" + "".join(rng.choice("0123456789") for _ in range(rng.randint(4, 8)))
        if prefix not in keys:
            keys.add(prefix)
            second_rows.append(dict(rows[0], prefix=prefix, name="New destination"))
            added += 1
    second = pl.DataFrame(second_rows, schema=CANONICAL_SCHEMA).sort("prefix")
    return first, second


def timed(label: str, repeat: int, fn: Callable[[], Any]) -> Any:
    times, result = [], None
    for _ in range(repeat):
        mark = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - mark)
    print(f"{label:<58} {statistics.median(times) * 1000:9.1f} ms  (min "
          f"{min(times) * 1000:.1f}, max {max(times) * 1000:.1f}, n={repeat})")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefixes", type=int, default=100_000)
    parser.add_argument("--changed", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(machine())
    first, second = decks(args.prefixes, args.changed)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(var_dir=Path(tmp))
        settings.ensure_dirs()
        upgrade(settings.db_url)
        jobqueue.configure(settings)
        engine = make_engine(settings.db_url)
        sessions = session_factory(engine)
        mark = time.perf_counter()
        with sessions.begin() as session:
            card = customer_cards.create_customer_card(session, ADMIN, {
                "name": "Bench", "public_name": "Bench Wholesale", "currency": "USD",
                "notice_days": 0, "external": True})
            for number, (frame, at) in enumerate(((first, T1),
                                                  (second, T1 + timedelta(days=7)))):
                revision = revisions.new_revision(session, card, f"bench {number + 1}")
                revision.row_count = write_rates(session.connection(), revision.id, frame)
                revisions.store_changes(session, revision)
                revisions.activate(session, ADMIN, card, revision.id, now=at)
                if number == 0:
                    for address in ["sent@bench.example", *TWENTY]:
                        session.add(CardEmail(customer_card_id=card.id,
                                              revision_id=revision.id, address=address,
                                              format="csv", created_at=at))
                    session.flush()
            card_id, new = card.id, revision
            print(f"setup: revision 1 {first.height:,} prefixes, revision 2 "
                  f"{second.height:,} prefixes, changes {new.changes} "
                  f"({time.perf_counter() - mark:.1f} s)")
        with sessions() as session:
            loaded = session.get(CustomerCard, card_id)
            assert loaded is not None
            active = revisions.active_revision(session, loaded)
            assert active is not None
            previous = card_email.last_sent(session, card_id, "sent@bench.example")

            def changed_summary() -> str:
                assert loaded is not None and active is not None
                return body(summarize(session, loaded, active, previous))

            def first_summary() -> str:
                assert loaded is not None and active is not None
                return body(summarize(session, loaded, active, None))

            text = timed("summary + body, ~5 % changed since the last send", args.repeat,
                         changed_summary)
            timed("summary + body, first card to an address", args.repeat, first_summary)
            print(f"  body: {len(text.splitlines())} lines, {len(text.encode()):,} bytes")

            def send() -> None:
                with session.begin_nested() as nested:
                    card_email.email_card(session, ADMIN, card_id, ["sent@bench.example"],
                                          "csv")
                    nested.rollback()

            timed("email_card to one address (queued, rolled back)", args.repeat, send)

            def send_twenty() -> None:
                with session.begin_nested() as nested:
                    card_email.email_card(session, ADMIN, card_id, TWENTY, "csv")
                    nested.rollback()

            timed("email_card to 20 addresses with the same last copy", args.repeat,
                  send_twenty)
            for fmt in ("csv", "xlsx"):
                spec = {"kind": "rate_card", "revision_id": active.id, "format": fmt,
                        "filename": f"bench.{fmt}"}

                def attach(spec: dict[str, Any] = spec) -> tuple[str, str, bytes]:
                    return card_email.rate_card_attachment(session, spec)

                _, _, content = timed(f"attachment {fmt.upper()} (read_rates + export)",
                                      args.repeat, attach)
                print(f"  {fmt}: {len(content):,} bytes")
        engine.dispose()
        jobqueue.reset()
    print(f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
          f"CPU calibration {calibration_ms():.0f} ms")


if __name__ == "__main__":
    main()
