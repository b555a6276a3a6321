"""The CDR collector of the local node, built from the settings (CLI and stack)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import polars as pl
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.billing import changes, credit, credit_watch, rating
from orchestrator.billing.collector import AfterBatch, CdrCollector, CollectResult
from orchestrator.billing.rating_insert import rate_new
from orchestrator.billing.rating_tables import TableSource, default_jurisdictions
from orchestrator.calls.service import CallsUnavailable
from orchestrator.kamailio.rpc import KamailioRPC
from orchestrator.settings import Settings

log = logging.getLogger(__name__)
HEARTBEAT = "cdr-collector.beat"


def heartbeat_path(settings: Settings) -> Path:
    """Touched after every pass of the running collector (the stack's readiness probe)."""
    return settings.run_dir / HEARTBEAT


def after_batch_steps(settings: Settings) -> list[AfterBatch]:
    """After each pass: CDRs left unrated (waiting for an exchange rate), low-balance
    alerts of the customers whose charges moved, then their credit to the switch."""

    def rate_and_push(session: Session, collected: CollectResult) -> None:
        pending = rating.rate_pending(session, jurisdictions=_jurisdictions(settings),
                                      base_currency=settings.base_currency)
        customers = sorted(collected.customers | pending.customers)
        # low-balance alerts join this transaction (an email job queued when it
        # commits); the credit is pushed right after, here, not by a job
        changes.balance_changed(session, customers, push=False)
        session.commit()
        if customers:
            credit.push_credit(session, settings, customers)

    rate_and_push.__name__ = "rate_and_push"
    return [rate_and_push]


def credit_check(settings: Settings) -> Callable[[Session], object]:
    """The control plane's check of running calls against credit, at every pass
    (orchestrator/billing/credit_watch.py); quiet when Kamailio does not answer."""

    def check_credit(session: Session) -> None:
        try:
            credit_watch.check(session, settings, margin=settings.cdr_collect_seconds)
        except CallsUnavailable as exc:
            log.debug("credit check skipped: %s", exc)

    return check_credit


def _jurisdictions(settings: Settings) -> TableSource:
    return lambda: default_jurisdictions(settings.var_dir)


def build_collector(settings: Settings, sessions: sessionmaker[Session] | Callable[[], Session],
                    *, rate: bool = True) -> CdrCollector:
    """The local node's collector; ``rate=False``: insert only (the CDRs stay unrated)."""
    rpc = KamailioRPC(settings.rpc_url, timeout=2.0)
    zones = {set_id: name for name, set_id in settings.media_zone_sets().items()}

    def rate_batch(session: Session, frame: pl.DataFrame) -> pl.DataFrame:
        return rate_new(session, frame, jurisdictions=_jurisdictions(settings),
                        base_currency=settings.base_currency)

    return CdrCollector(settings.cdr_dir, sessions, node="local", zones=zones,
                        rotate=lambda: rpc.call("flatstore.k_rotate"),
                        rate=rate_batch if rate else None,
                        after_batch=after_batch_steps(settings) if rate else (),
                        every_pass=[credit_check(settings)] if rate else ())
