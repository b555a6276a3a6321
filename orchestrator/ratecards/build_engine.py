"""Build a customer rate card from its parents: a pure, vectorised function.

No database, no web: canonical polars frames in, a canonical frame with
``candidates`` out. Money is integer units of 10^-8 (``money``); products run in
``Int128`` with explicit integer rounding. The steps and every decision are in
docs/design/ratecards.md, section "Build"; tests/unit/ratecards/reference_build.py
is an independent, slow reference that the tests compare against.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from orchestrator.ratecards.models import (
    COLLAPSE_USING,
    PRESENTATIONS,
    RATE_COMPACT,
    ROUNDING,
    STRATEGIES,
)
from orchestrator.ratecards.money import DECIMALS, MAX_UNITS
from orchestrator.ratecards.rules import (
    ParsedRule,
    RuleError,
    RuleInput,
    parse_rules,
    round_div,
    rule_index_expr,
    rules_frame,
    sell_expr,
    validate_rules,
)

__all__ = ["BuildError", "BuildResult", "BuildStats", "CardOptions", "ParentInput", "Progress",
           "RuleError", "RuleInput", "build_card", "round_div", "validate_rules"]

Progress = Callable[[float, str], None]

OUTPUT_SCHEMA: dict[str, pl.DataType] = {
    "prefix": pl.Utf8(), "name": pl.Utf8(), "rate": pl.Int64(), "inter": pl.Int64(),
    "intra": pl.Int64(), "connect_fee": pl.Int64(), "mcd": pl.Int32(), "pulse": pl.Int32(),
    "status": pl.Utf8(), "candidates": pl.Utf8(),
}
INPUT_COLUMNS = ("prefix", "name", "rate", "inter", "intra", "connect_fee", "mcd", "pulse",
                 "status")
# Compared by ``collapse``: everything a lookup of the prefix returns.
COLLAPSE_FIELDS = ("name", "rate", "inter", "intra", "connect_fee", "mcd", "pulse", "status",
                   "candidates")
I128 = pl.Int128


class BuildError(ValueError):
    """Inputs the build cannot use (bad options, parent frames, overflowing rates)."""


@dataclass(frozen=True)
class ParentInput:
    """One provider card: its active revision's canonical frame and how it is used.

    ``cost_in_card = cost * fx_numerator / fx_denominator`` rounded half-up to units.
    """

    provider_card_id: int
    frame: pl.DataFrame
    weight: int = 1
    priority: int = 0
    position: int = 0
    fx_numerator: int = 1
    fx_denominator: int = 1


@dataclass(frozen=True)
class CardOptions:
    rate_compact: str = "max"
    collapse_using: str = "max"
    collapse: bool = False
    force_presentation: str = "single"
    strategy: str = "lcr"
    precision: int = 4
    rounding: str = "up"


@dataclass(frozen=True)
class BuildStats:
    prefixes: int  # rows of the built card
    removed: int  # dropped by a ``remove`` rule
    blocked: int  # built rows with status blocked (unserved or ``blocked`` rule)
    unserved: int  # blocked because no parent serves them (included in ``blocked``)
    collapsed: int  # dropped by ``collapse``


@dataclass(frozen=True)
class BuildResult:
    frame: pl.DataFrame
    stats: BuildStats


def _check_options(options: CardOptions) -> None:
    checks = (("rate_compact", RATE_COMPACT), ("collapse_using", COLLAPSE_USING),
              ("force_presentation", PRESENTATIONS), ("strategy", STRATEGIES),
              ("rounding", ROUNDING))
    for field, allowed in checks:
        if getattr(options, field) not in allowed:
            raise BuildError(f"{field} must be one of {', '.join(allowed)}")
    if isinstance(options.precision, bool) or options.precision not in range(DECIMALS + 1):
        raise BuildError(f"precision must be a whole number from 0 to {DECIMALS}")


def _check_parents(parents: Sequence[ParentInput]) -> None:
    ids = [parent.provider_card_id for parent in parents]
    if len(set(ids)) != len(ids):
        raise BuildError("a provider card is a parent more than once")
    for parent in parents:
        name = f"parent {parent.provider_card_id}"
        if parent.fx_numerator <= 0 or parent.fx_denominator <= 0:
            raise BuildError(f"{name}: the currency factor must be positive")
        missing = [c for c in INPUT_COLUMNS if c not in parent.frame.columns]
        if missing:
            raise BuildError(f"{name}: missing columns {', '.join(missing)}")
        prefixes = parent.frame["prefix"]
        if not prefixes.str.contains("^[0-9]{1,20}$").fill_null(False).all():
            raise BuildError(f"{name}: every prefix must be 1 to 20 digits")
        if prefixes.is_duplicated().any():
            raise BuildError(f"{name}: duplicate prefixes")


def _single_cost(collapse_using: str) -> pl.Expr:
    """The one cost of a parent row (candidates, single-rate output)."""
    rate, inter, intra = pl.col("rate"), pl.col("inter"), pl.col("intra")
    if collapse_using == "rate":
        return rate
    if collapse_using == "inter":
        return pl.coalesce(inter, rate)
    if collapse_using == "intra":
        return pl.coalesce(intra, rate)
    if collapse_using == "max":
        return pl.max_horizontal(rate, inter, intra)
    listed = (pl.lit(1, dtype=I128) + inter.is_not_null().cast(I128)
              + intra.is_not_null().cast(I128))
    total = pl.sum_horizontal(rate.cast(I128), inter.cast(I128), intra.cast(I128))
    return round_div(total, listed, "half_up").cast(pl.Int64)


def _parent_rows(parents: Sequence[ParentInput], options: CardOptions) -> pl.DataFrame:
    """Every parent row, converted to the card's currency, with parent attributes."""
    frames = []
    for index, parent in enumerate(parents):
        num, den = parent.fx_numerator, parent.fx_denominator

        def convert(column: str, num: int = num, den: int = den) -> pl.Expr:
            value = pl.col(column).cast(I128) * pl.lit(num, dtype=I128)
            return round_div(value, den, "half_up").cast(pl.Int64).alias(column)

        frames.append(parent.frame.lazy().select(
            pl.col("prefix").cast(pl.Utf8), pl.col("name").cast(pl.Utf8),
            convert("rate"), convert("inter"), convert("intra"), convert("connect_fee"),
            pl.col("mcd").cast(pl.Int32), pl.col("pulse").cast(pl.Int32),
            (pl.col("status") == "blocked").alias("blocked"),
        ).with_columns(
            _single_cost(options.collapse_using).alias("single"),
            pl.coalesce("inter", "rate").alias("inter_f"),
            pl.coalesce("intra", "rate").alias("intra_f"),
            pl.col("prefix").str.len_chars().alias("length"),
            pl.lit(index, dtype=pl.Int32).alias("parent"),
        ).drop("inter", "intra"))
    return pl.concat(frames).with_row_index("row").collect()


def _longest_matches(prefixes: pl.DataFrame, rows: pl.DataFrame,
                     parents: int) -> list[pl.Series]:
    """Per parent: for every prefix id, the index in ``rows`` of the parent's row with
    the longest prefix of that prefix (null: none). One join per distinct length L,
    ``prefix[:L]`` against every parent's rows of length L (integer keys up to 19
    digits); shorter hits are written first, so the longest one stays."""
    found = [pl.repeat(None, prefixes.height, dtype=pl.UInt32, eager=True)
             for _ in range(parents)]
    for length in sorted(rows["length"].unique().to_list()):
        left = prefixes.lazy().filter(pl.col("length") >= length).select(
            "pid", _join_key(pl.col("prefix").str.slice(0, length), length))
        right = rows.lazy().filter(pl.col("length") == length).select(
            "row", "parent", _join_key(pl.col("prefix"), length))
        hits = left.join(right, on="key", how="inner").select("pid", "row", "parent").collect()
        for parent in range(parents):
            mine = hits.filter(pl.col("parent") == parent)
            if mine.height:
                found[parent].scatter(mine["pid"], mine["row"])
    return found


def _sorted_candidates(costs: pl.DataFrame, parents: Sequence[ParentInput],
                       reverse: bool) -> pl.Series:
    """``"<card id>:<cost>,..."`` per prefix: priority, then cost, then card id.

    ``costs`` has column ``c<i>`` (parent i's cost, null when it does not serve).
    Parents are placed by (priority, card id); an odd-even transposition sort (stable)
    then orders each equal-priority run by cost, with absent costs last."""
    order = sorted(range(len(parents)), key=lambda i: (parents[i].priority,
                                                       parents[i].provider_card_id))
    frame = costs.select(
        *(pl.col(f"c{i}").alias(f"k{slot}") for slot, i in enumerate(order)),
        *(pl.concat_str(pl.lit(f"{parents[i].provider_card_id}:"),
                        pl.col(f"c{i}").cast(pl.Utf8)).alias(f"e{slot}")
          for slot, i in enumerate(order)))
    runs: list[list[int]] = []
    for slot, i in enumerate(order):
        if runs and parents[order[runs[-1][0]]].priority == parents[i].priority:
            runs[-1].append(slot)
        else:
            runs.append([slot])
    for run in runs:
        for round_ in range(len(run)):
            swaps = []
            for j in range(round_ % 2, len(run) - 1, 2):
                a, b = run[j], run[j + 1]
                ka, kb = pl.col(f"k{a}"), pl.col(f"k{b}")
                swap = (ka.is_null() & kb.is_not_null()) | (
                    (kb > ka) if reverse else (kb < ka)).fill_null(False)
                for name, x, y in (("k", a, b), ("e", a, b)):
                    first, second = pl.col(f"{name}{x}"), pl.col(f"{name}{y}")
                    swaps.append(pl.when(swap).then(second).otherwise(first).alias(f"{name}{x}"))
                    swaps.append(pl.when(swap).then(first).otherwise(second).alias(f"{name}{y}"))
            if swaps:
                frame = frame.with_columns(swaps)
    return frame.select(pl.concat_str(*(pl.col(f"e{slot}") for slot in range(len(order))),
                                      separator=",", ignore_nulls=True)).to_series()


def _per_prefix(prefixes: pl.DataFrame, rows: pl.DataFrame, found: list[pl.Series],
                parents: Sequence[ParentInput], options: CardOptions) -> pl.DataFrame:
    """Serving count, base costs, worst billing, name and candidates, aligned with
    ``prefixes``: one column per parent, then horizontal aggregations."""
    fields = (["single"] if options.force_presentation == "single"
              else ["rate", "inter_f", "intra_f"])
    columns: dict[str, pl.Series] = {}
    for i, any_row in enumerate(found):
        serving_row = pl.select(pl.when(rows["blocked"].gather(any_row).not_())
                                .then(any_row)).to_series()
        columns[f"any_name{i}"] = rows["name"].gather(any_row)
        columns[f"name{i}"] = rows["name"].gather(serving_row)
        for field in {*fields, "single", "mcd", "pulse", "connect_fee"}:
            columns[f"{field}{i}"] = rows[field].gather(serving_row)
    wide = pl.DataFrame(columns)
    count = len(found)
    serving = pl.sum_horizontal(*(pl.col(f"single{i}").is_not_null() for i in range(count)))

    def each(field: str) -> list[pl.Expr]:
        return [pl.col(f"{field}{i}") for i in range(count)]

    def compact(field: str) -> pl.Expr:
        if options.rate_compact == "min":
            return pl.min_horizontal(each(field))
        if options.rate_compact == "max":
            return pl.max_horizontal(each(field))
        total = pl.sum_horizontal([c.cast(I128) for c in each(field)])
        return round_div(total, pl.max_horizontal(serving, 1), "half_up").cast(pl.Int64)

    by_rank = sorted(range(count), key=lambda i: (
        parents[i].priority, parents[i].position, parents[i].provider_card_id))
    costs = wide.select(pl.col(f"single{i}").alias(f"c{i}") for i in range(count))
    return wide.select(
        serving.alias("serving"),
        *(compact(field).alias(field) for field in fields),
        *(pl.max_horizontal(each(field)).alias(field)
          for field in ("mcd", "pulse", "connect_fee")),
        pl.coalesce(*(pl.col(f"name{i}") for i in by_rank),
                    *(pl.col(f"any_name{i}") for i in by_rank)).alias("name"),
    ).with_columns(_sorted_candidates(costs, parents, options.strategy == "reverse_lcr")
                   .alias("candidates"))


def _assemble(prefixes: pl.DataFrame, per_prefix: pl.DataFrame,
              rules: Sequence[ParsedRule], options: CardOptions) -> pl.DataFrame:
    """Apply the first matching rule per prefix; blocked/unserved rows are neutral."""
    frame = pl.concat([prefixes, per_prefix], how="horizontal").lazy().with_columns(
        rule_index_expr(rules).alias("rule")).join(
        rules_frame(rules).lazy(), on="rule", how="left")
    frame = frame.filter(pl.col("r_status").fill_null("profit") != "remove")
    blocked = (pl.col("r_status") == "blocked").fill_null(False) | (
        pl.col("serving").fill_null(0) == 0)
    single = options.force_presentation == "single"

    def sell(field: str) -> pl.Expr:
        return sell_expr(field, options.precision, options.rounding)

    if single:
        sells = {"rate": sell("single")}
    else:
        sells = {"inter": sell("inter_f"), "intra": sell("intra_f")}
        sells["rate"] = (sell("rate") if
                         options.force_presentation == "inter_intra_indeterminate"
                         else pl.max_horizontal(sells["inter"], sells["intra"]))
    zero_or_null = pl.lit(None if single else 0, dtype=pl.Int64)

    def pick(active: pl.Expr, neutral: pl.Expr) -> pl.Expr:
        return pl.when(pl.col("blocked_out")).then(neutral).otherwise(active)

    frame = frame.with_columns(blocked.alias("blocked_out"), *(
        expr.alias(f"sell_{name}") for name, expr in sells.items())).with_columns(
        pl.col("prefix"),
        pl.coalesce("r_name", "name").alias("name"),
        pick(pl.col("sell_rate"), pl.lit(0, dtype=I128)).alias("rate"),
        pick(pl.col("sell_inter") if not single else zero_or_null, zero_or_null).alias("inter"),
        pick(pl.col("sell_intra") if not single else zero_or_null, zero_or_null).alias("intra"),
        pick(pl.coalesce("r_fee", "connect_fee"), pl.lit(0, dtype=pl.Int64)).alias(
            "connect_fee"),
        pick(pl.coalesce("r_mcd", "mcd"), pl.lit(1, dtype=pl.Int32)).alias("mcd"),
        pick(pl.coalesce("r_pulse", "pulse"), pl.lit(1, dtype=pl.Int32)).alias("pulse"),
        pl.when(pl.col("blocked_out")).then(pl.lit("blocked")).otherwise(pl.lit("active"))
        .alias("status"),
        pick(pl.col("candidates"), pl.lit("")).alias("candidates"),
        pl.col("blocked_out"),
        (pl.col("serving").fill_null(0) == 0).alias("unserved"),
    )
    built = frame.select("prefix", "length", *COLLAPSE_FIELDS, "unserved").collect()
    for column in ("rate", "inter", "intra"):
        values = built[column]
        if values.len() and ((values.max() or 0) > MAX_UNITS  # type: ignore[operator]
                             or (values.min() or 0) < -MAX_UNITS):  # type: ignore[operator]
            raise BuildError(f"a built {column} is too large for the rate table")
    return built.with_columns(pl.col(c).cast(pl.Int64) for c in ("rate", "inter", "intra"))


def _join_key(text: pl.Expr, length: int) -> pl.Expr:
    """A digit string of ``length`` characters as a join key (integer up to 19 digits)."""
    return (text.cast(pl.UInt64) if length <= 19 else text).alias("key")


def _collapse(built: pl.DataFrame) -> pl.DataFrame:
    """Drop rows equal (every lookup field) to their longest shorter prefix in ``built``."""
    built = built.with_row_index("row")
    nearest = pl.repeat(None, built.height, dtype=pl.UInt32, eager=True)
    for length in sorted(built["length"].unique().to_list())[:-1]:  # longest written last
        left = built.lazy().filter(pl.col("length") > length).select(
            "row", _join_key(pl.col("prefix").str.slice(0, length), length))
        right = built.lazy().filter(pl.col("length") == length).select(
            pl.col("row").alias("shorter"), _join_key(pl.col("prefix"), length))
        hits = left.join(right, on="key", how="inner").collect()
        nearest.scatter(hits["row"], hits["shorter"])
    same = pl.all_horizontal(pl.col(f).eq_missing(pl.col(f).gather(nearest.fill_null(0)))
                             for f in COLLAPSE_FIELDS) & pl.lit(nearest).is_not_null()
    return built.filter(~same).drop("row")


def _empty_result() -> BuildResult:
    return BuildResult(pl.DataFrame(schema=OUTPUT_SCHEMA), BuildStats(0, 0, 0, 0, 0))


def build_card(parents: Sequence[ParentInput], rules: Sequence[RuleInput],
               options: CardOptions, progress: Progress | None = None) -> BuildResult:
    """Compile a customer card (canonical frame + ``candidates``) from its parents.

    Raises RuleError (field errors per rule) or BuildError for unusable input.
    """
    def report(fraction: float, message: str) -> None:
        if progress is not None:
            progress(fraction, message)

    _check_options(options)
    _check_parents(parents)
    parsed = parse_rules(rules)
    report(0.0, "reading parents")
    if not parents:
        report(1.0, "done: no parents")
        return _empty_result()
    rows = _parent_rows(parents, options)
    if rows.height == 0:
        report(1.0, "done: the parents list no prefixes")
        return _empty_result()
    prefixes = rows.lazy().select("prefix").unique().sort("prefix").with_row_index(
        "pid").with_columns(pl.col("prefix").str.len_chars().alias("length")).collect()
    report(0.15, f"longest-prefix match of {prefixes.height} prefixes")
    found = _longest_matches(prefixes, rows, len(parents))
    report(0.45, "costs, billing and candidates")
    per_prefix = _per_prefix(prefixes, rows, found, parents, options)
    report(0.65, "profit rules")
    built = _assemble(prefixes, per_prefix, parsed, options)
    removed = prefixes.height - built.height
    collapsed = 0
    if options.collapse:
        report(0.85, "collapse")
        before = built.height
        built = _collapse(built)
        collapsed = before - built.height
    frame = built.sort("prefix").select(
        *(pl.col(name).cast(dtype) for name, dtype in OUTPUT_SCHEMA.items()))
    blocked = int((frame["status"] == "blocked").sum())
    unserved = int(built["unserved"].sum())
    report(1.0, f"done: {frame.height} prefixes")
    return BuildResult(frame, BuildStats(prefixes=frame.height, removed=removed,
                                         blocked=blocked, unserved=unserved,
                                         collapsed=collapsed))
