"""Provider and customer rate cards, their revisions and rate rows, exchange rates.

Money in ``rates`` is integer units of 10^-8 (``orchestrator.ratecards.money``);
money typed by people in small numbers (rule values, fees) is a decimal string.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orchestrator.db.base import Base
from orchestrator.db.types import Timestamps, utcnow

PRESENTATIONS = ("single", "inter_intra", "inter_intra_indeterminate")
DIALING = ("dialled_number",)
RATE_COMPACT = ("min", "avg", "max")
COLLAPSE_USING = ("rate", "inter", "intra", "max", "avg")
STRATEGIES = ("lcr", "reverse_lcr", "random", "round_robin")
ROUNDING = ("up", "down", "half_up", "half_down")
RULE_TYPES = ("percent", "relative", "absolute")
RULE_STATUSES = ("profit", "remove", "blocked")
REVISION_STATES = ("draft", "active", "archived")
RATE_STATUSES = ("active", "blocked")
CHANGE_KINDS = ("new", "increase", "decrease", "unchanged", "closed")


class ProviderCard(Timestamps, Base):
    """What a carrier charges us."""

    __tablename__ = "provider_cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    tech_prefix: Mapped[str] = mapped_column(String(20), default="")
    force_presentation: Mapped[str] = mapped_column(String(30), default="single")
    dialing: Mapped[str] = mapped_column(String(20), default="dialled_number")
    notes_public: Mapped[str] = mapped_column(Text, default="")
    notes_private: Mapped[str] = mapped_column(Text, default="")


class CustomerCard(Timestamps, Base):
    """What we charge a customer: built from provider cards, or uploaded (external)."""

    __tablename__ = "customer_cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    public_name: Mapped[str] = mapped_column(String(100), default="")
    currency: Mapped[str] = mapped_column(String(3))
    notes: Mapped[str] = mapped_column(Text, default="")
    rate_compact: Mapped[str] = mapped_column(String(3), default="max")
    collapse_using: Mapped[str] = mapped_column(String(5), default="max")
    collapse: Mapped[bool] = mapped_column(default=False)
    force_presentation: Mapped[str] = mapped_column(String(30), default="single")
    strategy: Mapped[str] = mapped_column(String(20), default="lcr")
    precision: Mapped[int] = mapped_column(default=4)
    rounding: Mapped[str] = mapped_column(String(10), default="up")
    notice_days: Mapped[int] = mapped_column(default=7)
    external: Mapped[bool] = mapped_column(default=False)

    parents: Mapped[list[CustomerCardParent]] = relationship(
        back_populates="card", cascade="all, delete-orphan",
        order_by="CustomerCardParent.position")
    rules: Mapped[list[ProfitRule]] = relationship(
        back_populates="card", cascade="all, delete-orphan", order_by="ProfitRule.position")


class CustomerCardParent(Base):
    """A provider card a customer card is built from (or, external, may route to)."""

    __tablename__ = "customer_card_parents"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_card_id: Mapped[int] = mapped_column(
        ForeignKey("customer_cards.id", ondelete="CASCADE"), index=True)
    provider_card_id: Mapped[int] = mapped_column(ForeignKey("provider_cards.id"), index=True)
    weight: Mapped[int] = mapped_column(default=1)
    priority: Mapped[int] = mapped_column(default=0)  # lower first
    position: Mapped[int] = mapped_column(default=0)

    card: Mapped[CustomerCard] = relationship(back_populates="parents")


class ProfitRule(Base):
    __tablename__ = "profit_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_card_id: Mapped[int] = mapped_column(
        ForeignKey("customer_cards.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    match: Mapped[str] = mapped_column(String(200), default="")
    type: Mapped[str] = mapped_column(String(10), default="percent")
    value: Mapped[str] = mapped_column(String(30), default="0")  # decimal string
    mcd: Mapped[int | None] = mapped_column(default=None)
    pulse: Mapped[int | None] = mapped_column(default=None)
    connect_fee: Mapped[str | None] = mapped_column(String(30), default=None)
    rounding: Mapped[str | None] = mapped_column(String(10), default=None)
    name_override: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(10), default="profit")

    card: Mapped[CustomerCard] = relationship(back_populates="rules")


class RateRevision(Base):
    """One version of a card's rates: draft -> active -> archived."""

    __tablename__ = "rate_revisions"
    __table_args__ = (
        CheckConstraint("(provider_card_id IS NULL) != (customer_card_id IS NULL)",
                        name="one_card"),
        Index("ix_rate_revisions_due", "state", "date_live"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_card_id: Mapped[int | None] = mapped_column(
        ForeignKey("provider_cards.id", ondelete="CASCADE"), index=True, default=None)
    customer_card_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer_cards.id", ondelete="CASCADE"), index=True, default=None)
    number: Mapped[int] = mapped_column()
    state: Mapped[str] = mapped_column(String(10), default="draft")
    date_live: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                          default=None)
    row_count: Mapped[int] = mapped_column(default=0)
    source: Mapped[str] = mapped_column(String(255), default="")
    parent_revisions: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class Rate(Base):
    """One prefix of one revision. The primary key is the storage order (no rowid)."""

    __tablename__ = "rates"
    __table_args__ = (PrimaryKeyConstraint("revision_id", "prefix"),
                      {"sqlite_with_rowid": False})

    revision_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("rate_revisions.id", ondelete="CASCADE"))
    prefix: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200), default="")
    rate: Mapped[int] = mapped_column(BigInteger)  # units of 10^-8
    inter: Mapped[int | None] = mapped_column(BigInteger, default=None)
    intra: Mapped[int | None] = mapped_column(BigInteger, default=None)
    mcd: Mapped[int] = mapped_column(default=1)
    pulse: Mapped[int] = mapped_column(default=1)
    connect_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(10), default="active")
    candidates: Mapped[str | None] = mapped_column(Text, default=None)


class ExchangeRate(Base):
    """Units of ``currency`` per one unit of the base currency (settings.base_currency)."""

    __tablename__ = "exchange_rates"

    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    per_base: Mapped[str] = mapped_column(String(30))  # decimal string, > 0
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)


class CardEmail(Base):
    """One rate card sent to one address: the next send summarises changes since it."""

    __tablename__ = "card_emails"
    __table_args__ = (Index("ix_card_emails_card_address", "customer_card_id", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_card_id: Mapped[int] = mapped_column(
        ForeignKey("customer_cards.id", ondelete="CASCADE"))
    # the revision sent; kept when it is later superseded (SET NULL if deleted)
    revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("rate_revisions.id", ondelete="SET NULL"), default=None)
    address: Mapped[str] = mapped_column(String(254))  # lower-cased
    format: Mapped[str] = mapped_column(String(4))  # csv | xlsx
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), default=None)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
