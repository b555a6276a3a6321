"""The pure polars part of rating: a batch of CDRs in, their rated columns out.

Same numbers as ``orchestrator.billing.arithmetic`` (PRODUCT.md §3), on whole columns
of integers (money in units of 10^-8, ``orchestrator.ratecards.money``):

* billed = 0 unanswered (code != 200), else ``mcd`` if d <= mcd, else
  ``mcd + ceil((d - mcd) / pulse) * pulse`` with d = duration_ms / 1000 exactly;
* charge = round((rate x billed + 60 x connect_fee) / 60) to the customer card's
  precision with its rounding mode (sell side); to whole units, rounding up (buy side:
  provider cards have no precision setting);
* conversions multiply by the exact ratio of exchange rates and round half up (away
  from zero) to whole units.

The database side (what to read, caches, the UPDATEs) is orchestrator/billing/rating.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

import polars as pl

from orchestrator.billing.lpm import longest_prefix
from orchestrator.ratecards.jurisdiction import Jurisdictions
from orchestrator.ratecards.money import DECIMALS

ANSWERED = 200
BUY_PRECISION = DECIMALS
BUY_ROUNDING = "up"
_I64 = 2**63

CDR_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Int64(), "customer_id": pl.Int64(), "code": pl.Int64(),
    "duration_ms": pl.Int64(), "start_at": pl.Datetime("us"), "caller": pl.String(),
    "number": pl.String(), "sell_rev": pl.Int64(), "provider_card_id": pl.Int64(),
    "old_charge": pl.Int64()}
RATE_SCHEMA: dict[str, pl.DataType] = {
    "rev": pl.Int64(), "prefix": pl.String(), "rate": pl.Int64(), "inter": pl.Int64(),
    "intra": pl.Int64(), "mcd": pl.Int64(), "pulse": pl.Int64(), "connect_fee": pl.Int64()}
SELL_SCHEMA: dict[str, pl.DataType] = {
    "sell_rev": pl.Int64(), "sell_card_currency": pl.String(), "precision": pl.Int64(),
    "rounding": pl.String()}
BUY_SCHEMA: dict[str, pl.DataType] = {
    "provider_card_id": pl.Int64(), "activated_at": pl.Datetime("us"),
    "buy_rev": pl.Int64(), "buy_card_currency": pl.String()}
CUSTOMER_SCHEMA: dict[str, pl.DataType] = {"customer_id": pl.Int64(),
                                           "customer_currency": pl.String()}
# What rating writes back to ``cdrs`` (besides rated_at), in this order.
OUTPUT = ("jurisdiction", "sell_prefix", "sell_rate", "sell_currency", "sell_billed",
          "sell_charge", "customer_charge", "buy_revision_id", "buy_prefix", "buy_rate",
          "buy_currency", "buy_billed", "buy_charge", "profit")


@dataclass(frozen=True)
class Tables:
    """Everything a batch is rated with (read by rating.py)."""

    rates: pl.DataFrame        # RATE_SCHEMA: the rows of every revision involved
    sell_cards: pl.DataFrame   # SELL_SCHEMA: customer card of each sell revision
    buy_revisions: pl.DataFrame  # BUY_SCHEMA: activated revisions of the provider cards
    customers: pl.DataFrame    # CUSTOMER_SCHEMA
    per_base: Mapping[str, Fraction]  # units of a currency per base unit (base = 1)
    jurisdictions: Jurisdictions | None  # needed only when a row has inter/intra


def round_div(numerator: pl.Expr, denominator: pl.Expr | int, mode: pl.Expr | str) -> pl.Expr:
    """numerator / denominator rounded to an integer like ``money.round_units``."""
    mode_expr = pl.lit(mode) if isinstance(mode, str) else mode
    den = pl.lit(denominator) if isinstance(denominator, int) else denominator
    magnitude = numerator.abs()
    quotient, remainder = magnitude // den, magnitude % den
    bump = (pl.when(remainder == 0).then(0)
            .when(mode_expr == "up").then(1)
            .when(mode_expr == "half_up").then((2 * remainder >= den).cast(pl.Int64))
            .when(mode_expr == "half_down").then((2 * remainder > den).cast(pl.Int64))
            .otherwise(0))
    rounded = quotient + bump
    return pl.when(numerator < 0).then(0 - rounded).otherwise(rounded)  # i128 has no neg


def billed_seconds(duration_ms: pl.Expr, mcd: pl.Expr, pulse: pl.Expr,
                   answered: pl.Expr) -> pl.Expr:
    mcd_ms, pulse_ms = mcd * 1000, pulse.clip(lower_bound=1) * 1000
    pulses = (duration_ms - mcd_ms + pulse_ms - 1) // pulse_ms
    return (pl.when(~answered | mcd.is_null()).then(0)
            .when(duration_ms <= mcd_ms).then(mcd)
            .otherwise(mcd + pulses * pulse.clip(lower_bound=1))).cast(pl.Int64)


def charge(rate: pl.Expr, billed: pl.Expr, connect_fee: pl.Expr, answered: pl.Expr,
           precision: pl.Expr, rounding: pl.Expr | str) -> pl.Expr:
    step = pl.lit(10, pl.Int64).pow(pl.lit(DECIMALS, pl.Int64) - precision).cast(pl.Int64)
    numerator = rate * billed + connect_fee * 60
    return (pl.when(answered & rate.is_not_null())
            .then(round_div(numerator, 60 * step, rounding) * step)
            .otherwise(0)).cast(pl.Int64)


def _nanp_key(number: pl.Expr) -> pl.Expr:
    """'1NPANXX' of a NANP number (as Jurisdictions.region normalises it), else null."""
    digits = number.str.strip_chars_start("+")
    digits = pl.when(digits.str.len_chars() == 10).then(pl.lit("1") + digits).otherwise(digits)
    return pl.when(digits.str.contains(r"^1[0-9]{10}$")).then(digits.str.slice(0, 7))


def classify(frame: pl.DataFrame, caller: str, callee: str,
             jurisdictions: Jurisdictions) -> pl.Series:
    """intra / inter / indeterminate per row (PRODUCT.md §3). Table lookups run once
    per distinct NPA-NXX (the shipped and uploaded tables have prefixes of 4-7 digits)."""
    keys = frame.select(_nanp_key(pl.col(caller)).alias("a"), _nanp_key(pl.col(callee)).alias("b"))
    distinct = pl.concat([keys["a"], keys["b"]]).drop_nulls().unique().to_list()
    states: dict[str, str | None] = {}
    for key in distinct:
        region = jurisdictions.region(key + "0000")
        states[key] = region.region if region is not None and region.country == "US" else None
    lookup = pl.DataFrame({"key": list(states), "state": list(states.values())},
                          schema={"key": pl.String(), "state": pl.String()})
    a = keys.join(lookup, left_on="a", right_on="key", how="left", maintain_order="left")
    b = keys.join(lookup, left_on="b", right_on="key", how="left", maintain_order="left")
    both = pl.DataFrame({"a": a["state"], "b": b["state"]})
    return both.select(
        pl.when(pl.col("a").is_null() | pl.col("b").is_null()).then(pl.lit("indeterminate"))
        .when(pl.col("a") == pl.col("b")).then(pl.lit("intra"))
        .otherwise(pl.lit("inter")).alias("jurisdiction"))["jurisdiction"]


def _pick(prefix: str, jurisdiction: pl.Expr) -> pl.Expr:
    """The rate a row applies: intra / inter when the call is and the row has one."""
    inter, intra, rate = pl.col(f"{prefix}_inter"), pl.col(f"{prefix}_intra"), pl.col(
        f"{prefix}_rate")
    return (pl.when((jurisdiction == "intra") & intra.is_not_null()).then(intra)
            .when((jurisdiction == "inter") & inter.is_not_null()).then(inter)
            .otherwise(rate))


def _factors(pairs: pl.DataFrame, per_base: Mapping[str, Fraction]) -> pl.DataFrame:
    """(src, dst) -> num, den (Int128) with dst = src x num / den; null when a rate is
    missing; ``big`` when num or den does not fit 63 bits (converted exactly in Python)."""
    rows: list[tuple[str | None, str | None, int | None, int | None, bool]] = []
    for src, dst in pairs.iter_rows():
        if src == dst or src is None or dst is None:
            rows.append((src, dst, 1, 1, False))
        elif src in per_base and dst in per_base:
            ratio = per_base[dst] / per_base[src]
            big = ratio.numerator >= _I64 or ratio.denominator >= _I64
            rows.append((src, dst, None if big else ratio.numerator,
                         None if big else ratio.denominator, big))
        else:
            rows.append((src, dst, None, None, False))
    return pl.DataFrame(rows, schema={"src": pl.String(), "dst": pl.String(),
                                      "num": pl.Int128(), "den": pl.Int128(),
                                      "big": pl.Boolean()}, orient="row")


def convert(frame: pl.DataFrame, amount: str, src: str, dst: str,
            per_base: Mapping[str, Fraction]) -> pl.Series:
    """``amount`` in ``src`` currency as units of ``dst``, rounded half up; null where
    a non-zero amount has no exchange rate."""
    pairs = frame.select(pl.col(src).alias("src"), pl.col(dst).alias("dst"))
    table = _factors(pairs.unique(), per_base)
    joined = pairs.with_columns(frame[amount].cast(pl.Int128).alias("amount")).join(
        table, on=["src", "dst"], how="left", maintain_order="left", nulls_equal=True)
    value = joined["amount"]
    converted = joined.select(
        pl.when(pl.col("amount") == 0).then(pl.lit(0, pl.Int128))
        .when(pl.col("num").is_not_null())
        .then(round_div(pl.col("amount") * pl.col("num"), pl.col("den"), "half_up"))
        .alias("out"))["out"]
    big = joined["big"].fill_null(False)
    if big.any():  # ratios of exchange rates with very many digits: exact, row by row
        exact = [(None if b is False else _exact(int(v), s, d, per_base))
                 for v, s, d, b in zip(value, joined["src"], joined["dst"], big, strict=True)]
        converted = pl.Series([e if e is not None else c for e, c in
                               zip(exact, converted, strict=True)], dtype=pl.Int128)
    return converted.cast(pl.Int64)


def _exact(amount: int, src: str, dst: str, per_base: Mapping[str, Fraction]) -> int:
    value = Fraction(amount) * per_base[dst] / per_base[src]
    whole, rest = divmod(abs(value.numerator), value.denominator)
    whole += 2 * rest >= value.denominator
    return -whole if value < 0 else whole


def in_force(cdrs: pl.DataFrame, buy_revisions: pl.DataFrame) -> pl.DataFrame:
    """id -> buy_rev, buy_card_currency: the revision of the CDR's provider card with
    the newest activation at or before its start (none before the first)."""
    return (cdrs.select("id", "provider_card_id", "start_at")
            .filter(pl.col("provider_card_id").is_not_null()).sort("start_at")
            .join_asof(buy_revisions.sort("activated_at"), left_on="start_at",
                       right_on="activated_at", by="provider_card_id", strategy="backward",
                       check_sortedness=False)  # both sorted just above
            .select("id", "buy_rev", "buy_card_currency"))


def rate_frame(cdrs: pl.DataFrame, tables: Tables) -> pl.DataFrame:
    """``cdrs`` (CDR_SCHEMA) -> id, customer_id, the OUTPUT columns, ``rated`` (False
    when a needed exchange rate is missing: the CDR waits), ``delta`` (new minus old
    customer_charge) and ``known_customer`` (the customer exists: its balance moves)."""
    rates = tables.rates.select(list(RATE_SCHEMA))
    buy_rev = in_force(cdrs, tables.buy_revisions)
    sell = longest_prefix(cdrs.select("id", pl.col("sell_rev").alias("rev"), "number"),
                          rates).rename(lambda c: c if c == "id" else f"s_{c}")
    buy_keys = buy_rev.join(cdrs.select("id", "number"), on="id", how="inner")
    buy = longest_prefix(buy_keys.select("id", pl.col("buy_rev").alias("rev"), "number"),
                         rates).rename(lambda c: c if c == "id" else f"b_{c}")
    frame = (cdrs.join(tables.sell_cards, on="sell_rev", how="left", maintain_order="left")
             .join(tables.customers, on="customer_id", how="left", maintain_order="left")
             .join(buy_rev, on="id", how="left", maintain_order="left")
             .join(sell, on="id", how="left", maintain_order="left")
             .join(buy, on="id", how="left", maintain_order="left"))
    need = (pl.col("s_inter").is_not_null() | pl.col("s_intra").is_not_null()
            | pl.col("b_inter").is_not_null() | pl.col("b_intra").is_not_null())
    frame = frame.with_columns(need.alias("_need"))
    jurisdiction = pl.Series("jurisdiction", [""] * frame.height, dtype=pl.String())
    if tables.jurisdictions is not None and frame["_need"].any():
        subset = frame.filter("_need")
        classes = classify(subset, "caller", "number", tables.jurisdictions)
        jurisdiction = frame.select("id").join(
            pl.DataFrame({"id": subset["id"], "jurisdiction": classes}), on="id",
            how="left", maintain_order="left")["jurisdiction"].fill_null("")
    elif frame["_need"].any():  # no table: every such call is indeterminate
        jurisdiction = frame.select(pl.when("_need").then(pl.lit("indeterminate"))
                                    .otherwise(pl.lit("")).alias("jurisdiction"))["jurisdiction"]
    answered = pl.col("code") == ANSWERED
    j = pl.col("jurisdiction")
    frame = frame.with_columns(jurisdiction).with_columns(
        _pick("s", j).alias("sell_rate"), _pick("b", j).alias("buy_rate"),
        pl.coalesce("sell_card_currency", "customer_currency", "buy_card_currency",
                    pl.lit("")).alias("sell_currency"),
        pl.col("buy_card_currency").fill_null("").alias("buy_currency"),
        pl.col("s_prefix").fill_null("").alias("sell_prefix"),
        pl.col("b_prefix").fill_null("").alias("buy_prefix"),
        pl.col("buy_rev").alias("buy_revision_id"),
    ).with_columns(
        billed_seconds(pl.col("duration_ms"), pl.col("s_mcd"), pl.col("s_pulse"),
                       answered & pl.col("sell_rate").is_not_null()).alias("sell_billed"),
        billed_seconds(pl.col("duration_ms"), pl.col("b_mcd"), pl.col("b_pulse"),
                       answered & pl.col("buy_rate").is_not_null()).alias("buy_billed"),
    ).with_columns(
        charge(pl.col("sell_rate"), pl.col("sell_billed"), pl.col("s_connect_fee"), answered,
               pl.col("precision").fill_null(4), pl.col("rounding").fill_null("up"))
        .alias("sell_charge"),
        charge(pl.col("buy_rate"), pl.col("buy_billed"), pl.col("b_connect_fee"), answered,
               pl.lit(BUY_PRECISION, pl.Int64), BUY_ROUNDING).alias("buy_charge"),
    ).with_columns(pl.coalesce("customer_currency", "sell_currency").alias("_cust_cur"))
    customer_charge = convert(frame, "sell_charge", "sell_currency", "_cust_cur",
                              tables.per_base)
    buy_in_sell = convert(frame, "buy_charge", "buy_currency", "sell_currency",
                          tables.per_base)
    frame = frame.with_columns(customer_charge.alias("customer_charge"),
                               buy_in_sell.alias("_buy_in_sell"))
    return frame.select(
        "id", "customer_id", *OUTPUT[:6], pl.col("customer_charge").fill_null(0),
        *OUTPUT[7:-1], (pl.col("sell_charge") - pl.col("_buy_in_sell").fill_null(0))
        .alias("profit"),
        (pl.col("customer_charge").is_not_null() & pl.col("_buy_in_sell").is_not_null())
        .alias("rated"),
        (pl.col("customer_charge").fill_null(0) - pl.col("old_charge")).alias("delta"),
        pl.col("customer_currency").is_not_null().alias("known_customer"))
