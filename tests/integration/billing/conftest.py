"""Billing tests against the real data plane: calls placed with SIPp through Kamailio,
CDRs collected from the files Kamailio writes (the session data plane's var dir)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from orchestrator.billing.collector import CdrCollector
from orchestrator.billing.collector_setup import build_collector
from orchestrator.billing.models import Cdr
from tests.integration.routing.conftest import caller_factory, farm, open_route
from tests.support.dataplane import Dataplane

__all__ = ["caller_factory", "collector", "farm", "open_route"]

pytestmark = pytest.mark.integration


@pytest.fixture
def collector(dataplane: Dataplane) -> CdrCollector:
    """The data plane's CDR collector, without rating (tests rate explicitly)."""
    return build_collector(dataplane.settings, dataplane.sessions, rate=False)


def cdrs_of(dataplane: Dataplane, collector: CdrCollector,
            where: Callable[[type[Cdr]], object]) -> list[Cdr]:
    """Collect, then the CDRs matching ``where`` (oldest first)."""
    collector.collect_once()
    with dataplane.sessions() as session:
        rows = session.scalars(select(Cdr).where(where(Cdr))  # type: ignore[arg-type]
                               .order_by(Cdr.start_at, Cdr.id)).all()
        session.expunge_all()
        return list(rows)
