"""Call detail records: one row per call attempt, written by the switch, rated here.

The switch writes each attempt as one line of a flat file (orchestrator/billing/
cdr_format.py); the collector (orchestrator/billing/collector.py) inserts the lines,
keyed by (node, call_id, from_tag, cseq) so that reading a file twice adds nothing.
Rating (orchestrator/billing/rating.py) fills the ``sell_*``/``buy_*`` columns.

Money is in rate-table units (10^-8 of the currency, orchestrator.ratecards.money), as
integers: SQL sums of integers are exact on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orchestrator.db.base import Base

# Who ended an answered call (``hangup``); empty for attempts that were not answered.
HANGUPS = ("caller", "callee", "max_duration", "sip_ping", "rtp_timeout", "credit",
           "operator")
JURISDICTIONS = ("inter", "intra", "indeterminate")


class Cdr(Base):
    __tablename__ = "cdrs"
    __table_args__ = (
        UniqueConstraint("node", "call_id", "from_tag", "cseq", name="uq_cdrs_attempt"),
        Index("ix_cdrs_start", "start_at"),
        Index("ix_cdrs_customer_start", "customer_id", "start_at"),
        Index("ix_cdrs_carrier_start", "carrier_id", "start_at"),
        Index("ix_cdrs_dialled", "dialled", "start_at"),  # prefix + period in the index
        Index("ix_cdrs_code_start", "code", "start_at"),
        Index("ix_cdrs_rated", "rated_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    # the attempt: the customer leg's Call-ID, From tag and INVITE CSeq, on a node
    node: Mapped[str] = mapped_column(String(64), default="local")
    call_id: Mapped[str] = mapped_column(String(255))
    from_tag: Mapped[str] = mapped_column(String(128))
    cseq: Mapped[int] = mapped_column(BigInteger)
    # times (UTC, millisecond precision): INVITE received, 200 OK sent, call ended
    start_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answer_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    end_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int] = mapped_column(default=0)   # answer -> end; 0 unanswered
    pdd_ms: Mapped[int | None] = mapped_column(default=None)  # start -> first 18x/200
    # the final response the customer got (PRODUCT.md §2 reasons for refusals)
    code: Mapped[int] = mapped_column()
    reason: Mapped[str] = mapped_column(String(64), default="")
    hangup: Mapped[str] = mapped_column(String(16), default="")  # HANGUPS or ""
    # who called, what
    customer_id: Mapped[int | None] = mapped_column(default=None)
    route_id: Mapped[int | None] = mapped_column(default=None)
    sip_user: Mapped[str] = mapped_column(String(64), default="")
    source_ip: Mapped[str] = mapped_column(String(45), default="")
    caller: Mapped[str] = mapped_column(String(64), default="")
    dialled: Mapped[str] = mapped_column(String(64), default="")   # as received
    number: Mapped[str] = mapped_column(String(64), default="")    # after the tech prefix
    routed: Mapped[str] = mapped_column(String(64), default="")    # as sent to the carrier
    # sell side: the tariff (customer card revision) and the rate the switch routed with
    tariff: Mapped[str] = mapped_column(String(64), default="")    # mtree name
    customer_card_revision_id: Mapped[int | None] = mapped_column(default=None)
    # buy side: the carrier that answered (or was tried last)
    carrier_id: Mapped[int | None] = mapped_column(default=None)
    provider_card_id: Mapped[int | None] = mapped_column(default=None)
    tried: Mapped[str] = mapped_column(String(500), default="")    # "kid:pc:code;..."
    media: Mapped[str] = mapped_column(String(8), default="")      # proxy|direct|late
    media_zone: Mapped[str] = mapped_column(String(32), default="")
    # rating (orchestrator/billing/rating.py); NULL until rated
    rated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    jurisdiction: Mapped[str] = mapped_column(String(13), default="")
    sell_prefix: Mapped[str] = mapped_column(String(20), default="")
    sell_rate: Mapped[int | None] = mapped_column(BigInteger, default=None)  # per minute
    sell_currency: Mapped[str] = mapped_column(String(3), default="")
    sell_billed: Mapped[int] = mapped_column(default=0)            # seconds
    sell_charge: Mapped[int] = mapped_column(BigInteger, default=0)
    customer_charge: Mapped[int] = mapped_column(BigInteger, default=0)  # customer currency
    buy_revision_id: Mapped[int | None] = mapped_column(default=None)
    buy_prefix: Mapped[str] = mapped_column(String(20), default="")
    buy_rate: Mapped[int | None] = mapped_column(BigInteger, default=None)
    buy_currency: Mapped[str] = mapped_column(String(3), default="")
    buy_billed: Mapped[int] = mapped_column(default=0)
    buy_charge: Mapped[int] = mapped_column(BigInteger, default=0)
    profit: Mapped[int] = mapped_column(BigInteger, default=0)     # sell currency


class CdrFile(Base):
    """How far the collector has read each CDR file of a node (committed together with
    the CDRs read, so that a crash never loses nor repeats a line)."""

    __tablename__ = "cdr_files"

    node: Mapped[str] = mapped_column(String(64), primary_key=True)
    inode: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CdrFix(Base):
    """A correction the switch wrote after a call's CDR: why it ended, when the reason
    is only known after the CDR line (cnxcc ends a call, then tells the script).
    Applied by the collector as soon as the CDR is in the database, then deleted."""

    __tablename__ = "cdr_fixes"

    node: Mapped[str] = mapped_column(String(64), primary_key=True)
    call_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    from_tag: Mapped[str] = mapped_column(String(128), primary_key=True)
    hangup: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CustomerCharges(Base):
    """Running total of a customer's rated charges: SUM(cdrs.customer_charge) of its
    rated CDRs, in units of 10^-8 of the customer's currency (orchestrator/billing/
    balances.py keeps it in the rating transaction; ``billing check`` recomputes it)."""

    __tablename__ = "customer_charges"

    customer_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    charges: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LowBalanceAlert(Base):
    """A low-balance email was sent and the balance has not gone back above the
    threshold since (orchestrator/billing/alerts.py): no second email until then."""

    __tablename__ = "low_balance_alerts"

    customer_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    balance: Mapped[str] = mapped_column(String(40), default="")  # when it crossed
