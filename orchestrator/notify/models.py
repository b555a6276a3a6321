"""Outgoing messages (every email and SMS the switch sends) and stored settings groups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orchestrator.db.base import Base
from orchestrator.db.types import utcnow

CHANNELS = ("email", "sms")
# queued: waiting for its first attempt; retrying: an attempt failed, another is
# scheduled at next_attempt_at; sent; failed: every attempt failed (last_error says why)
MESSAGE_STATUSES = ("queued", "retrying", "sent", "failed")
PURPOSES = ("verification", "rate_card", "low_balance", "test", "other")


class Message(Base):
    """One email or SMS: what, to whom, and how its delivery went."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_created", "created_at"),
                      Index("ix_messages_status", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(5))  # email | sms
    recipient: Mapped[str] = mapped_column(String(254))  # address or E.164 number
    subject: Mapped[str] = mapped_column(String(255), default="")  # email only
    body: Mapped[str] = mapped_column(Text, default="")  # plain text (SMS: the text)
    # {"kind": <resolver name>, ...}: made at delivery time by the resolver registered
    # under that kind (orchestrator.notify.attachments), e.g. a rate card export
    attachment: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    purpose: Mapped[str] = mapped_column(String(20), default="other")
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True, default=None)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    job_id: Mapped[int | None] = mapped_column(default=None)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                             default=None)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class StoredSettings(Base):
    """A group of settings an admin edits at run time (``smtp``, ``sms``,
    ``verification``): JSON, secrets inside it encrypted (orchestrator.secrets)."""

    __tablename__ = "stored_settings"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64), default="")
