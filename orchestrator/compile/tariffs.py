"""Tariff trees: a customer card's active revision as mtree rows ``prefix -> value``.

``value`` is ``TariffValue.pack()`` (orchestrator/compile/snapshot.py), built here
with polars string expressions (a test checks both give the same text). Everything is
columnar (polars): the candidates of every prefix are exploded into one long frame,
sorted once, and joined back as strings; no Python loop runs per row.

Candidates of a *built* card are the ones its build stored (``rates.candidates``,
``"pc:cost,..."``, costs already in the card currency). Candidates of an *external*
card come from the provider cards the operator chose (its parents): for each prefix
of the card, each provider's longest-prefix match at its active revision (a blocked
match does not serve, as in the build), cost converted into the card currency and
rounded **up** to the unit (so profit assurance never lets a loss through).

Order (the same for both): lcr = cost ascending, then the parent link's priority
(lower first), then provider card id; ``rev`` lists the lcr indices in reverse_lcr
order (cost descending, then priority, then id). A candidate whose cost exceeds the
sell rate (the ``rate`` column) has loss = 1. Blocked prefixes get status ``b`` and
no candidates (the switch refuses them before looking at candidates).

Tree names (``TariffRef.tree``) are derived from everything that shapes the rows, so
that a tree, once written, never changes: ``t<revision id>`` for a built card whose
parents share one priority; otherwise ``t<revision id>x<hash>`` where the hash covers
the parents' priorities and, for external cards, the provider revisions and currency
factors used.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import polars as pl
from sqlalchemy.orm import Session

from orchestrator.compile.snapshot import TariffRef
from orchestrator.errors import ValidationFailed
from orchestrator.ratecards import exchange, revisions
from orchestrator.ratecards.build_engine import (
    CardOptions,
    ParentInput,
    _longest_matches,
    _parent_rows,
)
from orchestrator.ratecards.deck.store import read_rates
from orchestrator.ratecards.models import CustomerCard, ExchangeRate, ProviderCard
from orchestrator.ratecards.rules import round_div

VALUE_SCHEMA: dict[str, pl.DataType] = {"prefix": pl.String(), "value": pl.String()}
CANDIDATE_SCHEMA: dict[str, pl.DataType] = {"pid": pl.UInt32(), "pc": pl.Int64(),
                                            "cost": pl.Int64()}
I128 = pl.Int128
LIST_SEP = ";"  # between candidates and between reverse indices (TariffValue.pack)


@dataclass(frozen=True)
class Source:
    """A provider card an external card routes to, at its active revision."""

    provider_card_id: int
    revision_id: int
    fx_numerator: int
    fx_denominator: int


def priorities(card: CustomerCard) -> dict[int, int]:
    """provider card id -> priority of the card's parent link (lower first)."""
    return {link.provider_card_id: link.priority for link in card.parents}


def tree_name(revision_id: int, extra: str) -> str:
    if not extra:
        return f"t{revision_id}"
    return f"t{revision_id}x{hashlib.sha256(extra.encode()).hexdigest()[:10]}"


def _factor(session: Session, source: str, target: str, base: str | None) -> tuple[int, int]:
    if source == target:
        return 1, 1
    if base is not None:
        return exchange.factor(session, source, target, base)

    def per_base(currency: str) -> Fraction:  # the base is never stored: it is 1
        row = session.get(ExchangeRate, currency)
        return Fraction(Decimal(row.per_base)) if row is not None else Fraction(1)

    ratio = per_base(target) / per_base(source)
    return ratio.numerator, ratio.denominator


def external_sources(session: Session, card: CustomerCard, base: str | None,
                     ) -> tuple[list[Source], list[str]]:
    """The chosen provider cards that can serve (active revision, exchange rate), and
    a warning for each one that cannot."""
    sources: list[Source] = []
    warnings: list[str] = []
    for link in sorted(card.parents, key=lambda p: p.provider_card_id):
        provider = session.get(ProviderCard, link.provider_card_id)
        assert provider is not None  # foreign key
        active = revisions.active_revision(session, provider)
        label = f"external customer card {card.name!r}: provider card {provider.name!r}"
        if active is None:
            warnings.append(f"{label} has no active revision: it carries none of the "
                            "card's calls")
            continue
        try:
            num, den = _factor(session, provider.currency, card.currency, base)
        except ValidationFailed:
            warnings.append(f"{label}: no exchange rate between {provider.currency} and "
                            f"{card.currency}: it carries none of the card's calls")
            continue
        sources.append(Source(provider.id, active.id, num, den))
    return sources, warnings


def tariff_ref(session: Session, card: CustomerCard, revision_id: int, base: str,
               ) -> tuple[TariffRef, list[str]]:
    """The TariffRef of ``card`` at its active revision ``revision_id`` (+ warnings)."""
    prio = priorities(card)
    prio_text = ",".join(f"{pc}={p}" for pc, p in sorted(prio.items()))
    if not card.external:
        extra = "" if len(set(prio.values())) <= 1 else f"p:{prio_text}"
        return TariffRef(card.id, revision_id, tree_name(revision_id, extra),
                         card.currency), []
    sources, warnings = external_sources(session, card, base)
    extra = "x:" + ";".join(f"{s.revision_id}*{s.fx_numerator}/{s.fx_denominator}"
                            for s in sources) + f"|p:{prio_text}"
    return TariffRef(card.id, revision_id, tree_name(revision_id, extra), card.currency,
                     external=True,
                     provider_revisions=tuple(sorted(s.revision_id for s in sources))), warnings


def _stored_candidates(frame: pl.DataFrame) -> pl.DataFrame:
    """The build's ``candidates`` column as a long frame (pid, pc, cost)."""
    parts = frame.lazy().with_row_index("pid").select(
        "pid", pl.col("candidates").str.split(",")).explode("candidates").filter(
        pl.col("candidates").str.contains(":")).select(
        "pid", pl.col("candidates").str.split_exact(":", 1).alias("pair")).select(
        "pid", pl.col("pair").struct.field("field_0").cast(pl.Int64).alias("pc"),
        pl.col("pair").struct.field("field_1").cast(pl.Int64).alias("cost"))
    return parts.collect()


def _external_candidates(session: Session, card: CustomerCard, frame: pl.DataFrame,
                         sources: Sequence[Source]) -> pl.DataFrame:
    """Each source's longest-prefix match per prefix of ``frame``, in card currency."""
    if not sources or frame.height == 0:
        return pl.DataFrame(schema=CANDIDATE_SCHEMA)
    connection = session.connection()
    parents = [ParentInput(s.provider_card_id, read_rates(connection, s.revision_id))
               for s in sources]
    rows = _parent_rows(parents, CardOptions(collapse_using=card.collapse_using))
    prefixes = frame.select("prefix").with_row_index("pid").with_columns(
        pl.col("prefix").str.len_chars().alias("length"))
    found = _longest_matches(prefixes, rows, len(parents))
    long = []
    for source, matched in zip(sources, found, strict=True):
        hits = pl.DataFrame({"pid": pl.int_range(0, prefixes.height, dtype=pl.UInt32,
                                                 eager=True), "row": matched})
        cost = round_div(pl.col("single").cast(I128) * pl.lit(source.fx_numerator, I128),
                         source.fx_denominator, "up").cast(pl.Int64)
        long.append(hits.lazy().filter(pl.col("row").is_not_null()).join(
            rows.lazy().select("row", "single", "blocked"), on="row").filter(
            ~pl.col("blocked")).select("pid", pl.lit(source.provider_card_id, pl.Int64)
                                       .alias("pc"), cost.alias("cost")))
    return pl.concat(long).collect()


def _runs(row: pl.Expr, *keys: str) -> tuple[pl.Expr, pl.Expr]:
    """First and last row of the run of equal ``keys`` each row of a sorted frame is in."""
    starts = pl.any_horizontal(pl.col(k) != pl.col(k).shift(1) for k in keys).fill_null(True)
    ends = pl.any_horizontal(pl.col(k) != pl.col(k).shift(-1) for k in keys).fill_null(True)
    return (pl.when(starts).then(row).forward_fill(),
            pl.when(ends).then(row).backward_fill())


def pack_rows(frame: pl.DataFrame, candidates: pl.DataFrame,
              priority: dict[int, int]) -> pl.DataFrame:
    """``frame`` (prefix, rate, mcd, pulse, connect_fee, status) and its long
    ``candidates`` (pid = row of frame, pc, cost) -> (prefix, value), sorted.

    One sort puts every prefix's candidates in lcr order: a candidate's index is its
    row minus the first row of its prefix. reverse_lcr takes the cost runs backwards,
    keeping (priority, id) order inside a run, so a candidate's reverse position is
    (candidates of its prefix after its cost run) + (its place in the run); the
    indices are scattered to those positions instead of sorting again."""
    row = pl.col("row")
    group_start, group_end = _runs(row, "pid")
    run_start, run_end = _runs(row, "pid", "cost")
    lcr = candidates.with_columns(
        pl.col("pc").replace_strict(priority, default=0, return_dtype=pl.Int64).alias("prio"),
        frame["rate"].gather(candidates["pid"]).alias("sell"),
    ).sort(["pid", "cost", "prio", "pc"]).with_row_index("row").with_columns(
        (row - group_start).alias("idx"),
        (group_start + group_end - run_end + row - run_start).alias("to"),
        pl.concat_str("pc", "cost", (pl.col("cost") > pl.col("sell")).cast(pl.Int8),
                      separator=":").alias("entry"))
    reverse = pl.zeros(lcr.height, pl.UInt32, eager=True).alias("rev")
    reverse.scatter(lcr["to"], lcr["idx"])
    packed = lcr.select("pid", "entry", reverse.cast(pl.String)).group_by("pid").agg(
        "entry", "rev")
    blocked = pl.col("status") == "blocked"

    def listed(column: str) -> pl.Expr:
        return pl.when(blocked | pl.col(column).is_null()).then(pl.lit("")).otherwise(
            pl.col(column).list.join(LIST_SEP))

    return frame.with_row_index("pid").join(packed, on="pid", how="left").select(
        "prefix", pl.concat_str(
            "rate", "mcd", "pulse", "connect_fee",
            pl.when(blocked).then(pl.lit("b")).otherwise(pl.lit("a")),
            listed("entry"), listed("rev"), separator="|").alias("value")).sort("prefix")


def tariff_rows(session: Session, ref: TariffRef, base_currency: str | None = None,
                ) -> pl.DataFrame:
    """Every row of ``ref``'s revision as (prefix, value), sorted by prefix.

    ``base_currency`` (settings.base_currency) makes a missing exchange rate an error;
    without it a currency with no stored rate counts as the base (the compiler has
    already checked the rates of every ref it returned)."""
    card = session.get(CustomerCard, ref.customer_card_id)
    if card is None:
        raise ValidationFailed.one("tariff", f"customer card {ref.customer_card_id} does "
                                   "not exist")
    connection = session.connection()
    if not ref.external:
        frame = read_rates(connection, ref.revision_id, with_candidates=True)
        return pack_rows(frame, _stored_candidates(frame), priorities(card))
    frame = read_rates(connection, ref.revision_id)
    sources, _ = external_sources(session, card, base_currency)
    wanted = set(ref.provider_revisions)
    sources = [s for s in sources if s.revision_id in wanted]
    return pack_rows(frame, _external_candidates(session, card, frame, sources),
                     priorities(card))


def lookup(rows: dict[str, str], number: str) -> tuple[str, str] | None:
    """Longest-prefix match of ``number`` over ``prefix -> value``: (prefix, value)."""
    for length in range(len(number), 0, -1):
        value = rows.get(number[:length])
        if value is not None:
            return number[:length], value
    return None


def active_revision_id(session: Session, card: CustomerCard) -> int | None:
    revision = revisions.active_revision(session, card)
    return revision.id if revision is not None else None

