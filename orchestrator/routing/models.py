"""Ingress route of a customer (PRODUCT.md §1 "Ingress route", chosen per §2 step 3)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orchestrator.db.base import Base
from orchestrator.db.types import Timestamps

SIP_PING = ("disabled", "both", "upstream", "downstream")
ROUTE_STRATEGIES = ("lcr", "reverse_lcr", "random", "round_robin")
RTP_PROXY_MODES = ("strict", "relaxed")


class IngressRoute(Timestamps, Base):
    """Which calls of a customer are accepted, on which tariff, with which limits."""

    __tablename__ = "ingress_routes"
    __table_args__ = (Index("ix_ingress_routes_customer_prefix", "customer_id",
                            "tech_prefix"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100), default="")
    # RESTRICT: a customer card in use by a route is not deleted (service guard too).
    tariff_id: Mapped[int] = mapped_column(ForeignKey("customer_cards.id",
                                                      ondelete="RESTRICT"), index=True)
    tech_prefix: Mapped[str] = mapped_column(String(20), default="")
    dial_string: Mapped[str] = mapped_column(Text, default="")  # lines; empty = allow all
    enabled: Mapped[bool] = mapped_column(default=True)
    priority: Mapped[int] = mapped_column(default=0)
    channels: Mapped[int] = mapped_column(default=0)
    cps: Mapped[int] = mapped_column(default=0)
    max_duration: Mapped[int] = mapped_column(default=0)
    sip_ping: Mapped[str] = mapped_column(String(10), default="disabled")
    rtp_timeout: Mapped[bool] = mapped_column(default=False)
    profit_assurance: Mapped[bool] = mapped_column(default=False)
    lock_cards: Mapped[list[Any]] = mapped_column(JSON, default=list)
    exclude_cards: Mapped[list[Any]] = mapped_column(JSON, default=list)
    strategy: Mapped[str | None] = mapped_column(String(20), default=None)
    rtp_proxy: Mapped[str] = mapped_column(String(50), default="auto")
    rtp_proxy_mode: Mapped[str] = mapped_column(String(10), default="relaxed")
