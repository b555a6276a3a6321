"""DTMF events counted per call (Call-ID) from rtpengine's DTMF log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from orchestrator.db.base import Base

MAX_DIGITS = 255  # digits kept per call; events are counted past it


class DtmfCount(Base):
    """One row per call that had at least one DTMF event through rtpengine."""

    __tablename__ = "dtmf_counts"

    call_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    events: Mapped[int] = mapped_column(default=0)
    digits: Mapped[str] = mapped_column(String(MAX_DIGITS), default="")
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
