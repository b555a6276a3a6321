"""The change summary of an emailed rate card: what changed since the card last sent to
an address, and the plain-text email (subject and body) that carries it.

Counts come from the revision diff (``revisions._DIFF``: one SQL over ``rates``) of the
revision being sent against the one last sent to that address. Only the first
``MAX_LINES`` changed prefixes are listed in the body; the attachment has every rate.

Effective dates: a change took effect when the revision that made it went live. When
several revisions went live since the last send, each listed prefix gets the time the
first revision carrying its current row went live (its rows are read from each of
those revisions, for the listed prefixes only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from orchestrator.ratecards import revisions
from orchestrator.ratecards.models import CHANGE_KINDS, CustomerCard, Rate, RateRevision
from orchestrator.ratecards.money import DECIMALS, format_units

MAX_LINES = 200
# the order changes are listed in: what costs the customer more comes first
LIST_ORDER = ("increase", "closed", "new", "decrease")
KIND_LABELS = {"new": "new", "increase": "increased", "decrease": "decreased",
               "closed": "closed", "unchanged": "unchanged"}


@dataclass(frozen=True)
class ChangeLine:
    kind: str
    prefix: str
    name: str
    old_rate: int | None
    new_rate: int | None
    effective: datetime | None


@dataclass
class Summary:
    """What changed for one address; ``first``: nothing was sent to it before."""

    card_name: str
    currency: str
    precision: int
    revision_id: int
    revision_number: int
    effective: datetime | None
    rows: int
    first: bool
    since: datetime | None = None  # when the previous card was sent
    since_revision: int | None = None  # its revision number (None: no longer stored)
    counts: dict[str, int] = field(default_factory=dict)
    lines: list[ChangeLine] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return sum(n for kind, n in self.counts.items() if kind != "unchanged")

    @property
    def more(self) -> int:
        """Changes not listed in the body."""
        return max(0, self.changed - len(self.lines))

    def record(self) -> dict[str, Any]:
        """What the send row keeps (``card_emails.changes``)."""
        return {**{k: int(self.counts.get(k, 0)) for k in CHANGE_KINDS},
                "first": self.first, "since_revision": self.since_revision}


def effective_at(revision: RateRevision) -> datetime | None:
    """When a revision goes (or went) live."""
    moment = revision.date_live or revision.activated_at
    return revisions.aware(moment) if moment is not None else None


def display_name(card: CustomerCard) -> str:
    return card.public_name.strip() or card.name


def _changed_lines(session: Session, new_id: int, old_id: int) -> list[dict[str, Any]]:
    order = " ".join(f"WHEN '{kind}' THEN {i}" for i, kind in enumerate(LIST_ORDER))
    rows = session.execute(text(
        revisions._DIFF + "SELECT prefix, name, kind, old_rate, new_rate FROM diff "
        f"WHERE kind <> 'unchanged' ORDER BY CASE kind {order} END, prefix "
        f"LIMIT {MAX_LINES}"), {"new": new_id, "old": old_id})
    return [dict(r) for r in rows.mappings()]


def _chain(session: Session, card_id: int, old: RateRevision,
           new: RateRevision) -> list[RateRevision]:
    """The revisions that went live after ``old`` up to ``new``, in order."""
    if old.activated_at is None or new.activated_at is None:
        return [new]
    chain = list(session.scalars(select(RateRevision).where(
        RateRevision.customer_card_id == card_id,
        RateRevision.activated_at > old.activated_at,
        RateRevision.activated_at <= new.activated_at,
        RateRevision.id != new.id).order_by(RateRevision.activated_at)))
    return [*chain, new]


def _effective_dates(session: Session, chain: list[RateRevision], old: RateRevision,
                     prefixes: list[str]) -> dict[str, datetime | None]:
    """Prefix -> when its current row went live (see the module's docstring)."""
    last = chain[-1]
    if len(chain) == 1 or not prefixes:
        return dict.fromkeys(prefixes, effective_at(last))
    ids = [old.id, *(r.id for r in chain)]
    found: dict[tuple[int, str], tuple[Any, ...]] = {}
    for start in range(0, len(prefixes), 500):
        for row in session.execute(select(
                Rate.revision_id, Rate.prefix, Rate.rate, Rate.inter, Rate.intra,
                Rate.status).where(Rate.revision_id.in_(ids),
                                   Rate.prefix.in_(prefixes[start:start + 500]))):
            status = row.status if row.status == "blocked" else "active"
            found[(row.revision_id, row.prefix)] = (
                (None,) if status == "blocked" else (row.rate, row.inter, row.intra))
    out: dict[str, datetime | None] = {}
    for prefix in prefixes:
        current = found.get((last.id, prefix), (None,))
        since = last
        for revision in reversed(chain[:-1]):
            if found.get((revision.id, prefix), (None,)) != current:
                break
            since = revision
        out[prefix] = effective_at(since)
    return out


# The address-independent part of a summary, per (new revision id, old revision id):
# sending one card to 20 addresses, or to every customer in bulk, computes it once.
SummaryCache = dict[tuple[int, int], tuple[dict[str, int], list[ChangeLine]]]


def summarize(session: Session, card: CustomerCard, revision: RateRevision,
              previous: tuple[int | None, datetime] | None,
              cache: SummaryCache | None = None) -> Summary:
    """The summary of sending ``revision``; ``previous``: (revision id, sent at) of
    the last card sent to the address, None if there was none. ``cache``: reuse the
    counts and lines already computed for the same pair of revisions."""
    summary = Summary(card_name=display_name(card), currency=card.currency,
                      precision=card.precision, revision_id=revision.id,
                      revision_number=revision.number, effective=effective_at(revision),
                      rows=revision.row_count, first=previous is None)
    old = session.get(RateRevision, previous[0]) if previous and previous[0] else None
    if previous is not None:
        summary.since = revisions.aware(previous[1])
        summary.since_revision = old.number if old is not None else None
    if old is None:
        summary.counts = dict.fromkeys(CHANGE_KINDS, 0) | {"new": revision.row_count}
        return summary
    key = (revision.id, old.id)
    if cache is not None and key in cache:
        counts, lines = cache[key]
        summary.counts, summary.lines = dict(counts), list(lines)
        return summary
    summary.counts = revisions.classify_changes(session, revision.id, old.id)
    rows = _changed_lines(session, revision.id, old.id) if summary.changed else []
    dates = _effective_dates(session, _chain(session, card.id, old, revision), old,
                             [r["prefix"] for r in rows])
    # a closed prefix has no new rate (even when kept as blocked), a new one no old rate
    summary.lines = [ChangeLine(
        kind=r["kind"], prefix=r["prefix"], name=r["name"] or "",
        old_rate=None if r["kind"] == "new" else r["old_rate"],
        new_rate=None if r["kind"] == "closed" else r["new_rate"],
        effective=dates.get(r["prefix"])) for r in rows]
    if cache is not None:
        cache[key] = (dict(summary.counts), list(summary.lines))
    return summary


# --- the email ------------------------------------------------------------------------

def money(units: int | None, places: int) -> str:
    """Units of 10^-8 with at least ``places`` decimals (more only when needed)."""
    if units is None:
        return "-"
    whole, _, frac = format_units(int(units), DECIMALS).partition(".")
    frac = frac.rstrip("0").ljust(max(0, min(places, DECIMALS)), "0")
    return f"{whole}.{frac}" if frac else whole


def day(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment is not None else "-"


def minute(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "-"


def counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{KIND_LABELS[k]}: {counts.get(k, 0):,}"
                     for k in ("new", "increase", "decrease", "closed", "unchanged"))


def subject(summary: Summary) -> str:
    return (f"Rate card {summary.card_name} ({summary.currency}), effective "
            f"{day(summary.effective)}")


def _table(summary: Summary) -> list[str]:
    lines = [f"{'Change':<10} {'Prefix':<14} {'Destination':<30} {'Old rate':>12} "
             f"{'New rate':>12}  Effective"]
    for line in summary.lines:
        name = line.name if len(line.name) <= 30 else line.name[:29] + "~"
        lines.append(f"{KIND_LABELS[line.kind]:<10} {line.prefix:<14} {name:<30} "
                     f"{money(line.old_rate, summary.precision):>12} "
                     f"{money(line.new_rate, summary.precision):>12}  "
                     f"{day(line.effective)}")
    return lines


def body(summary: Summary, greeting: str = "") -> str:
    """The plain-text body: greeting, the card, the counts and the changed prefixes."""
    out = [f"Dear {greeting}," if greeting else "Hello,", "",
           f"Attached is the rate card {summary.card_name} ({summary.currency}): "
           f"{summary.rows:,} prefixes, effective {minute(summary.effective)} "
           f"(revision {summary.revision_number}).", ""]
    if summary.first:
        out += [f"This is the first card sent to you: {summary.rows:,} prefixes.", ""]
    else:
        before = (f"revision {summary.since_revision}" if summary.since_revision
                  else "a revision no longer stored")
        out += [f"Changes since the card sent to you on {minute(summary.since)} "
                f"({before}):", "  " + counts_text(summary.counts), ""]
        if summary.since_revision is None:
            out += ["The card sent before is no longer stored: please compare with the "
                    "attached card.", ""]
        elif summary.changed == 0:
            out += ["No rate has changed.", ""]
        else:
            out += ["Each change is effective from the date shown (increases and "
                    "closures after the card's notice period).", ""]
            out += _table(summary)
            if summary.more:
                out += ["", f"... and {summary.more:,} more changes not listed here: the "
                        "attached card has every rate."]
            out.append("")
    out += [f"Rates are per minute in {summary.currency}. The attached card replaces any "
            "card sent to you before.", "", "Regards"]
    return "\n".join(out) + "\n"
