"""CDR rows for tests that need CDRs without placing calls (rating, search, stats,
balances).  Integration tests in tests/integration/billing/ check that the switch and
the collector produce the same rows from real calls."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from orchestrator.billing.models import Cdr

_seq = itertools.count(1)
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def cdr(**fields: Any) -> Cdr:
    """One attempt; answered (code 200) when ``duration_ms`` > 0 unless code is given.

    Defaults: started at T0 plus a second per call, answered 2 s later, ended after
    ``duration_ms``; unique call_id; customer/route/carrier ids None."""
    n = next(_seq)
    start = fields.pop("start_at", T0 + timedelta(seconds=n))
    duration_ms = int(fields.pop("duration_ms", 0))
    code = int(fields.pop("code", 200 if duration_ms > 0 else 503))
    answered = code == 200
    answer = start + timedelta(seconds=2) if answered else None
    end = (answer + timedelta(milliseconds=duration_ms)) if answer else start
    values: dict[str, Any] = {
        "node": "local", "call_id": f"call-{n}@test", "from_tag": f"ft{n}", "cseq": 1,
        "start_at": start, "answer_at": answer, "end_at": end,
        "duration_ms": duration_ms if answered else 0,
        "pdd_ms": 1500 if answered else None, "code": code,
        "reason": "OK" if answered else "Service Unavailable",
        "hangup": "caller" if answered else "", "source_ip": "192.0.2.1",
        "caller": "15551230000", "dialled": "441234567", "number": "441234567",
    }
    values.update(fields)
    return Cdr(**values)


def add_cdrs(session: Session, *rows: dict[str, Any]) -> list[Cdr]:
    """Insert one CDR per dict of fields (see ``cdr``) and flush."""
    made = [cdr(**row) for row in rows]
    session.add_all(made)
    session.flush()
    return made
