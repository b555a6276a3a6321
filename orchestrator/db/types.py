"""Column types and mixins shared by the domains."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import DateTime, Numeric, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from orchestrator.header_policy import DEFAULT_PASS

# Money and rates are decimal throughout (never binary floating point).
Money = Numeric(20, 6, asdecimal=True)
Percent = Numeric(9, 4, asdecimal=True)

STATUSES = ("active", "inactive", "pending_approval", "penalty")
PAYMENT_STATUSES = ("pending", "completed", "cancelled")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)


class AddressFields:
    """PRODUCT.md: address (lines, city, postcode, country)."""

    address_lines: Mapped[str] = mapped_column(Text, default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    postcode: Mapped[str] = mapped_column(String(20), default="")
    country: Mapped[str] = mapped_column(String(2), default="")  # ISO 3166-1 alpha-2


class PartyFields(AddressFields):
    """Fields customers and carriers share (PRODUCT.md §1)."""

    name: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    currency: Mapped[str] = mapped_column(String(3))  # ISO 4217, fixed after creation
    channels: Mapped[int] = mapped_column(default=0)  # 0 = unlimited
    cps: Mapped[int] = mapped_column(default=0)  # 0 = unlimited
    paypal_email: Mapped[str] = mapped_column(String(254), default="")
    website: Mapped[str] = mapped_column(String(255), default="")
    portal_access: Mapped[bool] = mapped_column(default=False)
    # Optional headers (X-*, Diversion, ...) this party exchanges with the switch:
    # canonical text of orchestrator.header_policy.parse_pass_headers
    pass_headers: Mapped[str] = mapped_column(String(1000), default=DEFAULT_PASS)


class PaymentFields:
    amount: Mapped[Decimal] = mapped_column(Money)
    description: Mapped[str] = mapped_column(String(255), default="")
    fee: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Searchable:
    """A lower-cased copy of the fields that list searches look in (``search_text``).

    One indexed-free column scanned with one LIKE is several times faster than
    ``lower(a) LIKE .. OR lower(b) LIKE ..`` over 100k rows; it is kept up to date on
    every ORM insert and update. Subclasses name the fields in ``SEARCH_FIELDS``;
    bulk inserts call ``search_text_of``.
    """

    SEARCH_FIELDS: tuple[str, ...] = ()
    search_text: Mapped[str] = mapped_column(Text, default="")

    @classmethod
    def search_text_of(cls, values: dict[str, object]) -> str:
        return "\n".join(str(values.get(f) or "") for f in cls.SEARCH_FIELDS).lower()


@event.listens_for(Searchable, "before_insert", propagate=True)
@event.listens_for(Searchable, "before_update", propagate=True)
def _fill_search_text(_mapper: object, _connection: object, target: Searchable) -> None:
    target.search_text = type(target).search_text_of(
        {f: getattr(target, f) for f in type(target).SEARCH_FIELDS})
