"""Customer, its IP auth entries, SIP users and payments."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orchestrator.db.base import Base
from orchestrator.db.types import (
    Money,
    PartyFields,
    PaymentFields,
    Percent,
    Searchable,
    Timestamps,
    utcnow,
)


class Customer(PartyFields, Searchable, Timestamps, Base):
    __tablename__ = "customers"
    # Lists sort names ignoring case; names are unique ignoring case.
    __table_args__ = (Index("uq_customers_name_lower", func.lower(text("name")), unique=True),)
    SEARCH_FIELDS = ("name", "email", "website", "city")

    id: Mapped[int] = mapped_column(primary_key=True)
    tax_percent: Mapped[Decimal] = mapped_column(Percent, default=Decimal(0))
    debit_limit: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    email: Mapped[str] = mapped_column(String(254), default="")
    mobile: Mapped[str] = mapped_column(String(20), default="")  # E.164
    email_verified: Mapped[bool] = mapped_column(default=False)
    mobile_verified: Mapped[bool] = mapped_column(default=False)
    verification_required: Mapped[bool] = mapped_column(default=False)
    pai: Mapped[str] = mapped_column(String(10), default="accept")  # accept|require|remove
    # a low-balance email when the balance crosses below it; None: no alert
    low_balance_threshold: Mapped[Decimal | None] = mapped_column(Money, default=None)

    ips: Mapped[list[CustomerIP]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="CustomerIP.id")
    sip_users: Mapped[list[SipUser]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="SipUser.id")
    payments: Mapped[list[CustomerPayment]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="CustomerPayment.id")


class CustomerIP(Base):
    """IP auth entry: an address or CIDR network, optionally one source port."""

    __tablename__ = "customer_ips"
    __table_args__ = (Index("ix_customer_ips_network", "network"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"),
                                             index=True)
    network: Mapped[str] = mapped_column(String(50))  # normalised CIDR, e.g. 192.0.2.7/32
    port: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="ips")


class SipUser(Base):
    """Digest-auth credentials; the password is kept only as HA1 for the switch realm."""

    __tablename__ = "sip_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"),
                                             index=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    ha1: Mapped[str] = mapped_column(String(64))  # md5(username:realm:password)
    realm: Mapped[str] = mapped_column(String(128))
    channels: Mapped[int] = mapped_column(default=0)
    cps: Mapped[int] = mapped_column(default=0)
    allowed_ips: Mapped[str] = mapped_column(Text, default="")  # CIDRs, one per line
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="sip_users")


class CustomerPayment(PaymentFields, Base):
    __tablename__ = "customer_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"),
                                             index=True)

    customer: Mapped[Customer] = relationship(back_populates="payments")
