"""Carrier, its gateways and payments."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orchestrator.db.base import Base
from orchestrator.db.types import PartyFields, PaymentFields, Searchable, Timestamps


class Carrier(PartyFields, Searchable, Timestamps, Base):
    __tablename__ = "carriers"
    # Lists sort names ignoring case; names are unique ignoring case.
    __table_args__ = (Index("uq_carriers_name_lower", func.lower(text("name")), unique=True),)
    SEARCH_FIELDS = ("name", "website", "portal_url", "city")

    id: Mapped[int] = mapped_column(primary_key=True)
    portal_url: Mapped[str] = mapped_column(String(255), default="")
    portal_username: Mapped[str] = mapped_column(String(100), default="")
    # Encrypted with the settings' secrets key (Fernet token); never returned.
    portal_password_encrypted: Mapped[str] = mapped_column(Text, default="")
    pre_ring_timeout: Mapped[int] = mapped_column(default=30)   # s, INVITE -> first 1xx
    post_ring_timeout: Mapped[int] = mapped_column(default=30)  # s, first 18x -> answer
    # P-Asserted-Identity of a caller asking for privacy (Privacy: id) goes only to
    # trusted carriers (RFC 3325)
    trust_pai: Mapped[bool] = mapped_column(default=True)

    gateways: Mapped[list[Gateway]] = relationship(
        back_populates="carrier", cascade="all, delete-orphan", order_by="Gateway.id")
    payments: Mapped[list[CarrierPayment]] = relationship(
        back_populates="carrier", cascade="all, delete-orphan", order_by="CarrierPayment.id")


class Gateway(Base):
    """One of the carrier's switch addresses: egress target and ingress recognition."""

    __tablename__ = "gateways"

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id", ondelete="CASCADE"),
                                            index=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(default=5060)
    transport: Mapped[str] = mapped_column(String(3), default="udp")  # udp | tcp
    weight: Mapped[int] = mapped_column(default=1)
    enabled: Mapped[bool] = mapped_column(default=True)

    carrier: Mapped[Carrier] = relationship(back_populates="gateways")


class CarrierPayment(PaymentFields, Base):
    __tablename__ = "carrier_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id", ondelete="CASCADE"),
                                            index=True)

    carrier: Mapped[Carrier] = relationship(back_populates="payments")
