"""Running totals of rated charges per customer, and the check that recomputes them.

``customer_charges.charges`` = SUM(cdrs.customer_charge) over the customer's rated CDRs
(``rated_at`` set), in integer units of 10^-8 of the customer's currency
(orchestrator.ratecards.money). Rating (orchestrator/billing/rating.py) calls
``apply_charge_deltas`` in the same transaction as the rated CDRs, so the totals always
match the CDRs; ``check`` proves it from scratch (integer SQL sums: exact on SQLite
and PostgreSQL) and ``fix`` repairs what it reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from orchestrator.billing.models import Cdr, CustomerCharges
from orchestrator.db.types import utcnow
from orchestrator.ratecards.money import SCALE

UNIT = Decimal(SCALE)   # units per 1 of a currency


@dataclass(frozen=True)
class Mismatch:
    """A customer whose running total differs from the sum of its rated CDRs."""

    customer_id: int
    total: int        # customer_charges.charges (0 when there is no row)
    computed: int     # SUM(customer_charge) of its rated CDRs

    @property
    def difference(self) -> int:
        return self.total - self.computed

    def to_dict(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "total": units_text(self.total),
                "computed": units_text(self.computed),
                "difference": units_text(self.difference)}


def units_text(units: int) -> str:
    """Units as a plain decimal of the currency: 150000000 -> '1.5'."""
    text = format((Decimal(units) / UNIT).normalize(), "f")
    return "0" if text in ("0", "-0") else text


def _upsert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return sqlite.insert(CustomerCharges)
    if dialect == "postgresql":
        return postgresql.insert(CustomerCharges)
    raise NotImplementedError(f"customer_charges upsert on {dialect}")


def apply_charge_deltas(session: Session, deltas: Mapping[int, int]) -> None:
    """Add customer_id -> change of the sum of its ``Cdr.customer_charge`` (units).

    One upsert statement executed for every customer (sorted ids: concurrent raters
    lock rows in the same order), in the caller's transaction; zero deltas skipped."""
    now = utcnow()
    rows = [{"customer_id": cid, "charges": int(deltas[cid]), "updated_at": now}
            for cid in sorted(deltas) if int(deltas[cid])]
    if not rows:
        return
    stmt = _upsert(session)
    session.execute(stmt.on_conflict_do_update(
        index_elements=[CustomerCharges.customer_id],
        set_={"charges": CustomerCharges.charges + stmt.excluded.charges,
              "updated_at": stmt.excluded.updated_at}), rows)


def charge_units(session: Session, customer_ids: Iterable[int]) -> dict[int, int]:
    """The running totals (units) of these customers; 0 for a customer without a row."""
    ids = list(dict.fromkeys(customer_ids))
    totals = dict.fromkeys(ids, 0)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        totals.update(session.execute(
            select(CustomerCharges.customer_id, CustomerCharges.charges)
            .where(CustomerCharges.customer_id.in_(chunk))).all())
    return totals


def computed_units(session: Session, customer_ids: Sequence[int] | None = None
                   ) -> dict[int, int]:
    """SUM(customer_charge) of the rated CDRs, per customer (all customers with any)."""
    stmt = (select(Cdr.customer_id, func.sum(Cdr.customer_charge))
            .where(Cdr.rated_at.is_not(None), Cdr.customer_id.is_not(None))
            .group_by(Cdr.customer_id))
    if customer_ids is not None:
        stmt = stmt.where(Cdr.customer_id.in_(list(customer_ids)))
    return {int(cid or 0): int(total or 0) for cid, total in session.execute(stmt)}


def check(session: Session, customer_ids: Sequence[int] | None = None) -> list[Mismatch]:
    """Recompute every customer's total from its rated CDRs; the differences, by id."""
    computed = computed_units(session, customer_ids)
    stmt = select(CustomerCharges.customer_id, CustomerCharges.charges)
    if customer_ids is not None:
        stmt = stmt.where(CustomerCharges.customer_id.in_(list(customer_ids)))
    totals = {int(cid): int(charges) for cid, charges in session.execute(stmt)}
    return [Mismatch(cid, totals.get(cid, 0), computed.get(cid, 0))
            for cid in sorted(computed.keys() | totals.keys())
            if totals.get(cid, 0) != computed.get(cid, 0)]


def fix(session: Session, mismatches: Iterable[Mismatch]) -> int:
    """Set each reported total to its computed sum (in the caller's transaction).

    Applied as a delta (computed - total seen by ``check``), so charges rated between
    the check and the fix are not lost. Returns how many totals changed."""
    deltas = {m.customer_id: m.computed - m.total for m in mismatches}
    apply_charge_deltas(session, deltas)
    return sum(1 for delta in deltas.values() if delta)
