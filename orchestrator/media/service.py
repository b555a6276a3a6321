"""DTMF counts in the model: written by the collector in batches, read per call."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session, sessionmaker

from orchestrator.media.dtmf import CallTally, Sink
from orchestrator.media.models import MAX_DIGITS, DtmfCount


def store_counts(session: Session, batch: Mapping[str, CallTally]) -> None:
    """Add a batch of per-call counts to ``dtmf_counts`` (the caller commits)."""
    for call_id, tally in batch.items():
        row = session.get(DtmfCount, call_id)
        if row is None:
            session.add(DtmfCount(call_id=call_id, events=tally.events,
                                  digits=tally.digits[:MAX_DIGITS],
                                  first_at=tally.first_at, last_at=tally.last_at))
        else:  # a call's events arrive in order: the batch is later than the row
            row.events += tally.events
            row.digits = (row.digits + tally.digits)[:MAX_DIGITS]
            row.last_at = tally.last_at


def database_sink(sessions: sessionmaker[Session]) -> Sink:
    """A collector sink writing each batch in one transaction."""
    def write(batch: Mapping[str, CallTally]) -> None:
        with sessions() as session, session.begin():
            store_counts(session, batch)
    return write


def dtmf_record(session: Session, call_id: str) -> DtmfCount | None:
    """The DTMF row of a call, None when rtpengine reported no event for it."""
    return session.get(DtmfCount, call_id)


def dtmf_count(session: Session, call_id: str) -> int | None:
    """DTMF events of a call; None when none was seen (no event, or direct media)."""
    row = dtmf_record(session, call_id)
    return None if row is None else row.events
