"""The fast build against the reference, on random decks, plus worked examples."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.ratecards.build_engine import (
    BuildError,
    BuildResult,
    CardOptions,
    ParentInput,
    RuleError,
    RuleInput,
    build_card,
    round_div,
)
from orchestrator.ratecards.models import (
    COLLAPSE_USING,
    PRESENTATIONS,
    RATE_COMPACT,
    ROUNDING,
    STRATEGIES,
)
from orchestrator.ratecards.money import SCALE, round_units, to_decimal
from tests.unit.ratecards.reference_build import (
    RefOptions,
    RefParent,
    RefResult,
    RefRow,
    RefRule,
    reference_build,
)

SCHEMA = {"prefix": pl.Utf8, "name": pl.Utf8, "rate": pl.Int64, "inter": pl.Int64,
          "intra": pl.Int64, "connect_fee": pl.Int64, "mcd": pl.Int32, "pulse": pl.Int32,
          "status": pl.Utf8}
Row = tuple[str, int, int | None, int | None, int, int, int, str]


def deck(rows: dict[str, Row]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"prefix": p, "name": r[0], "rate": r[1], "inter": r[2], "intra": r[3],
          "connect_fee": r[4], "mcd": r[5], "pulse": r[6], "status": r[7]}
         for p, r in sorted(rows.items())], schema=SCHEMA)


def row(rate: int, name: str = "X", status: str = "active", *, inter: int | None = None,
        intra: int | None = None, fee: int = 0, mcd: int = 1, pulse: int = 1) -> Row:
    return (name, rate, inter, intra, fee, mcd, pulse, status)


def ref_decimal(units: int | None) -> Decimal | None:
    return None if units is None else to_decimal(units)


def to_reference(parents: list[ParentInput], rows: list[dict[str, Row]],
                 rules: list[RuleInput], options: CardOptions) -> RefResult:
    ref_parents = []
    for parent, deck_rows in zip(parents, rows, strict=True):
        ref_rows = {p: RefRow(r[0], to_decimal(r[1]), ref_decimal(r[2]), ref_decimal(r[3]),
                              to_decimal(r[4]), r[5], r[6], r[7])
                    for p, r in deck_rows.items()}
        ref_parents.append(RefParent(parent.provider_card_id, ref_rows, parent.priority,
                                     parent.position, parent.fx_numerator,
                                     parent.fx_denominator))
    ref_rules = [RefRule(r.match, r.type, Decimal(r.value), r.mcd, r.pulse,
                         None if r.connect_fee is None else Decimal(r.connect_fee),
                         r.rounding, r.name_override, r.status) for r in rules]
    ref_options = RefOptions(options.rate_compact, options.collapse_using, options.collapse,
                             options.force_presentation, options.strategy,
                             options.precision, options.rounding)
    return reference_build(ref_parents, ref_rules, ref_options)


def fast_rows(result: BuildResult) -> dict[str, dict[str, Any]]:
    out = {}
    for record in result.frame.iter_rows(named=True):
        candidates = []
        if record["candidates"]:
            for item in record["candidates"].split(","):
                card, cost = item.split(":")
                candidates.append((int(card), to_decimal(int(cost))))
        out[record["prefix"]] = {
            "name": record["name"], "rate": to_decimal(record["rate"]),
            "inter": ref_decimal(record["inter"]), "intra": ref_decimal(record["intra"]),
            "connect_fee": to_decimal(record["connect_fee"]), "mcd": record["mcd"],
            "pulse": record["pulse"], "status": record["status"], "candidates": candidates}
    return out


def assert_same(result: BuildResult, reference: RefResult) -> None:
    fast = fast_rows(result)
    assert list(fast) == sorted(fast), "output not sorted by prefix"
    assert set(fast) == set(reference.rows)
    for prefix, expected in reference.rows.items():
        assert fast[prefix] == vars(expected), prefix
    stats = result.stats
    assert (stats.prefixes, stats.removed, stats.blocked, stats.unserved, stats.collapsed) == (
        len(reference.rows), reference.removed, reference.blocked, reference.unserved,
        reference.collapsed)


# ---- random decks ---------------------------------------------------------------

PREFIXES = st.text(alphabet="123", min_size=1, max_size=5)


def money(precision: int) -> st.SearchStrategy[int]:
    """Units; odd multiples of half the rounding step make ties (half_up vs half_down)."""
    half = 10 ** (8 - precision) // 2 or 1
    return st.one_of(st.integers(0, 10**7), st.integers(0, 60).map(lambda n: (2 * n + 1) * half),
                     st.sampled_from([0, 1, 5_000, 1_000_000, 1_234_567, 2_500_000]))


def random_row(precision: int) -> st.SearchStrategy[Row]:
    amount = money(precision)
    return st.builds(
        row, amount, st.sampled_from(["A", "B", "C"]),
        st.sampled_from(["active", "active", "active", "blocked"]),
        inter=st.none() | amount, intra=st.none() | amount,
        fee=st.sampled_from([0, 1, 12_345, 100_000]), mcd=st.sampled_from([1, 6, 30, 60]),
        pulse=st.sampled_from([1, 6, 30, 60]))


REGEXES = ["^1", "1|2", "^2(1|3)", "[12]3", "3{2}", "1.?2", r"\d3", "(?:12|3)$",
           "[^1]", "2*3", "1+2?$", "[1-2]{2,}", "(1|22)+3", "^3", ".2.", "2{1,2}1"]
EXACT = PREFIXES
MATCHES = st.one_of(st.just(""), EXACT, EXACT, st.sampled_from(REGEXES),
                    st.sampled_from(REGEXES))
PERCENT = st.integers(-100 * 10**4, 300 * 10**4).map(lambda n: Decimal(n).scaleb(-4)) | (
    st.sampled_from(["10", "25", "50", "-50", "12.5", "-100", "0", "33.33333333"])
    .map(Decimal))
AMOUNT = st.integers(0, 5 * 10**7).map(lambda n: Decimal(n).scaleb(-8)) | st.sampled_from(
    ["0", "0.00005", "0.005", "0.01", "0.12345678"]).map(Decimal)


@st.composite
def random_rule(draw: st.DrawFn) -> RuleInput:
    rule_type = draw(st.sampled_from(["percent", "relative", "absolute"]))
    return RuleInput(
        match=draw(MATCHES), type=rule_type,
        value=draw(PERCENT if rule_type == "percent" else AMOUNT),
        mcd=draw(st.one_of(st.none(), st.sampled_from([1, 30, 60]))),
        pulse=draw(st.one_of(st.none(), st.sampled_from([1, 6, 60]))),
        connect_fee=draw(st.one_of(st.none(), st.sampled_from(
            [Decimal(0), Decimal("0.005"), Decimal("0.12345678")]))),
        rounding=draw(st.one_of(st.none(), st.sampled_from(ROUNDING))),
        name_override=draw(st.sampled_from(["", "", "Override"])),
        status=draw(st.sampled_from(["profit", "profit", "profit", "remove", "blocked"])))


OPTIONS = st.builds(
    CardOptions, st.sampled_from(RATE_COMPACT), st.sampled_from(COLLAPSE_USING),
    st.booleans(), st.sampled_from(PRESENTATIONS), st.sampled_from(STRATEGIES),
    st.integers(0, 8) | st.integers(1, 4), st.sampled_from(ROUNDING))


@st.composite
def scenario(draw: st.DrawFn) -> tuple[list[ParentInput], list[dict[str, Row]],
                                       list[RuleInput], CardOptions]:
    count = draw(st.integers(1, 4))
    card_ids = draw(st.lists(st.integers(1, 50), min_size=count, max_size=count,
                             unique=True))
    options = draw(OPTIONS)
    decks = st.dictionaries(PREFIXES, random_row(options.precision), min_size=1, max_size=14)
    parents, rows = [], []
    for index, card_id in enumerate(card_ids):
        deck_rows = draw(decks)
        fx = draw(st.sampled_from([(1, 1), (1, 1), (1, 1), (3, 7), (92, 100), (1, 3)])
                  | st.tuples(st.integers(1, 5000), st.integers(1, 5000)))
        parents.append(ParentInput(
            card_id, deck(deck_rows), weight=draw(st.integers(1, 100)),
            priority=draw(st.sampled_from([0, 0, 1, 2])),
            position=draw(st.sampled_from([index, 0])),
            fx_numerator=fx[0], fx_denominator=fx[1]))
        rows.append(deck_rows)
    rules = draw(st.lists(random_rule(), max_size=4))
    return parents, rows, rules, options


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_fast_build_equals_reference(case: tuple[list[ParentInput], list[dict[str, Row]],
                                                 list[RuleInput], CardOptions]) -> None:
    parents, rows, rules, options = case
    assert_same(build_card(parents, rules, options), to_reference(parents, rows, rules,
                                                                  options))


@settings(max_examples=200, deadline=None)
@given(st.integers(-(10**30), 10**30), st.integers(1, 10**20), st.sampled_from(ROUNDING))
def test_round_div_equals_round_units(numerator: int, denominator: int, mode: str) -> None:
    frame = pl.DataFrame({"n": [numerator], "d": [denominator]},
                         schema={"n": pl.Int128, "d": pl.Int128})
    got = frame.select(round_div(pl.col("n"), pl.col("d"), mode)).item()
    by_column = frame.select(round_div(pl.col("n"), pl.col("d"), pl.lit(mode))).item()
    assert got == by_column == round_units(numerator, denominator, mode)


# ---- worked examples --------------------------------------------------------------

def build(parents: list[ParentInput], rules: list[RuleInput] | None = None,
          **options: Any) -> dict[str, dict[str, Any]]:
    return fast_rows(build_card(parents, rules or [], CardOptions(**options)))


def test_parent_listing_only_44_prices_4420() -> None:
    uk = ParentInput(1, deck({"44": row(1_000_000, "UK")}))
    london = ParentInput(2, deck({"4420": row(2_000_000, "London")}))
    out = build([uk, london], rate_compact="max", precision=4)
    assert out["4420"]["rate"] == Decimal("0.02")
    assert out["4420"]["candidates"] == [(1, Decimal("0.01")), (2, Decimal("0.02"))]
    assert out["44"]["candidates"] == [(1, Decimal("0.01"))]
    assert build([uk, london], rate_compact="min")["4420"]["rate"] == Decimal("0.01")


def test_blocked_longest_match_does_not_fall_back() -> None:
    parent = ParentInput(1, deck({"44": row(1_000_000), "442": row(0, status="blocked")}))
    other = ParentInput(2, deck({"4420": row(3_000_000, "London")}))
    out = build([parent, other])
    assert out["4420"]["candidates"] == [(2, Decimal("0.03"))]
    assert out["4420"]["rate"] == Decimal("0.03")
    assert out["442"]["status"] == "blocked"
    assert out["442"]["rate"] == 0 and out["442"]["candidates"] == []
    assert out["44"]["status"] == "active"


def test_first_matching_rule_wins_and_percent_markup() -> None:
    parent = ParentInput(1, deck({"44": row(1_000_000), "4420": row(1_000_000)}))
    rules = [RuleInput(match="4420", type="absolute", value=Decimal("0.5")),
             RuleInput(match="^44", type="percent", value=Decimal(10)),
             RuleInput(match="", type="relative", value=Decimal(1))]
    out = build([parent], rules, precision=4)
    assert out["4420"]["rate"] == Decimal("0.5")
    assert out["44"]["rate"] == Decimal("0.011")  # 10 % on 0.0100 -> 0.0110


def test_rounding_modes_to_precision() -> None:
    parent = ParentInput(1, deck({"1": row(1_235_000), "2": row(1_235_001),
                                  "3": row(1_234_999)}))
    got = {mode: [v["rate"] for v in build([parent], precision=4, rounding=mode).values()]
           for mode in ROUNDING}
    assert got == {
        "up": [Decimal("0.0124"), Decimal("0.0124"), Decimal("0.0124")],
        "down": [Decimal("0.0123"), Decimal("0.0123"), Decimal("0.0123")],
        "half_up": [Decimal("0.0124"), Decimal("0.0124"), Decimal("0.0123")],
        "half_down": [Decimal("0.0123"), Decimal("0.0124"), Decimal("0.0123")]}
    rule = RuleInput(type="relative", value=Decimal(0), rounding="down")
    assert build([parent], [rule], rounding="up")["1"]["rate"] == Decimal("0.0123")


def test_remove_blocked_rules_unserved_and_stats() -> None:
    parent = ParentInput(1, deck({"1": row(100), "2": row(100), "3": row(100, "Gone",
                                                                         "blocked")}))
    rules = [RuleInput(match="1", type="percent", value=Decimal(0), status="remove"),
             RuleInput(match="2", status="blocked", name_override="Refused")]
    result = build_card([parent], rules, CardOptions())
    out = fast_rows(result)
    assert set(out) == {"2", "3"}
    assert out["2"] | {"candidates": None} == {
        "name": "Refused", "rate": 0, "inter": None, "intra": None, "connect_fee": 0,
        "mcd": 1, "pulse": 1, "status": "blocked", "candidates": None}
    assert out["3"]["name"] == "Gone" and out["3"]["status"] == "blocked"
    assert (result.stats.prefixes, result.stats.removed, result.stats.blocked,
            result.stats.unserved) == (2, 1, 2, 1)


def test_currency_strategy_billing_and_names() -> None:
    cheap = ParentInput(7, deck({"1": row(1_000_000, "Cheap", fee=10, mcd=30, pulse=6)}),
                        priority=0, position=1, fx_numerator=1, fx_denominator=3)
    dear = ParentInput(3, deck({"1": row(1_000_000, "Dear", fee=20, mcd=1, pulse=60)}),
                       priority=0, position=0)
    lcr = build([cheap, dear], strategy="lcr", rate_compact="avg", precision=8)["1"]
    assert lcr["candidates"] == [(7, Decimal("0.00333333")), (3, Decimal("0.01"))]
    assert lcr["rate"] == Decimal("0.00666667")  # (333333 + 1000000) / 2 half-up
    assert (lcr["mcd"], lcr["pulse"], lcr["connect_fee"]) == (30, 60, Decimal("0.0000002"))
    assert lcr["name"] == "Dear"  # position 0 comes first
    reverse = build([cheap, dear], strategy="reverse_lcr")["1"]
    assert [card for card, _ in reverse["candidates"]] == [3, 7]


def test_inter_intra_presentations_and_collapse_using() -> None:
    npa = ParentInput(1, deck({"1201": row(3_000_000, inter=1_000_000, intra=2_000_000)}))
    single = {how: build([npa], collapse_using=how)["1201"]["rate"] for how in COLLAPSE_USING}
    assert single == {"rate": Decimal("0.03"), "inter": Decimal("0.01"),
                      "intra": Decimal("0.02"), "max": Decimal("0.03"),
                      "avg": Decimal("0.02")}
    both = build([npa], force_presentation="inter_intra")["1201"]
    assert (both["rate"], both["inter"], both["intra"]) == (
        Decimal("0.02"), Decimal("0.01"), Decimal("0.02"))
    three = build([npa], force_presentation="inter_intra_indeterminate")["1201"]
    assert three["rate"] == Decimal("0.03")


def test_collapse_drops_equal_children_only() -> None:
    parent = ParentInput(1, deck({"44": row(100, "UK"), "441": row(100, "UK"),
                                  "4412": row(100, "UK"), "442": row(200, "UK")}))
    result = build_card([parent], [], CardOptions(collapse=True))
    assert result.frame["prefix"].to_list() == ["44", "442"]
    assert result.stats.collapsed == 2


def test_bad_inputs_are_refused() -> None:
    parent = ParentInput(1, deck({"1": row(100)}))
    with pytest.raises(RuleError) as caught:
        build_card([parent], [RuleInput(match="(?=1)")], CardOptions())
    assert 0 in caught.value.errors and "match" in caught.value.errors[0]
    with pytest.raises(BuildError, match="precision"):
        build_card([parent], [], CardOptions(precision=9))
    with pytest.raises(BuildError, match="more than once"):
        build_card([parent, parent], [], CardOptions())
    with pytest.raises(BuildError, match="too large"):
        build_card([ParentInput(1, deck({"1": row(2**62)}))],
                   [RuleInput(type="percent", value=Decimal(500))], CardOptions())


def test_no_parents_and_progress() -> None:
    seen: list[tuple[float, str]] = []
    assert build_card([], [], CardOptions()).frame.height == 0
    parent = ParentInput(1, deck({"1": row(SCALE)}))
    build_card([parent], [], CardOptions(collapse=True),
               lambda fraction, message: seen.append((fraction, message)))
    fractions = [fraction for fraction, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert len(seen) >= 5


def test_candidate_order_skips_parents_that_do_not_serve() -> None:
    """Same priority: cost decides even across a parent with no (or a blocked) match."""
    a = ParentInput(1, deck({"1": row(5)}))
    b = ParentInput(2, deck({"1": row(1, status="blocked")}))
    c = ParentInput(3, deck({"1": row(3)}))
    d = ParentInput(4, deck({"1": row(1)}), priority=1)
    out = build([d, c, b, a])["1"]
    assert out["candidates"] == [(3, Decimal("3E-8")), (1, Decimal("5E-8")),
                                 (4, Decimal("1E-8"))]
    reverse = build([d, c, b, a], strategy="reverse_lcr")["1"]
    assert [card for card, _ in reverse["candidates"]] == [1, 3, 4]


def test_unserved_prefix_takes_the_first_listing_parents_name() -> None:
    late = ParentInput(1, deck({"5": row(1, "Late", "blocked")}), priority=2)
    early = ParentInput(2, deck({"5": row(1, "Early", "blocked")}), priority=1)
    out = build([late, early])
    assert out["5"]["name"] == "Early" and out["5"]["status"] == "blocked"


def test_parent_frames_are_checked() -> None:
    good = deck({"1": row(100)})
    with pytest.raises(BuildError, match="1 to 20 digits"):
        build_card([ParentInput(1, good.with_columns(pl.lit("1a").alias("prefix")))], [],
                   CardOptions())
    with pytest.raises(BuildError, match="duplicate"):
        build_card([ParentInput(1, pl.concat([good, good]))], [], CardOptions())
    with pytest.raises(BuildError, match="missing columns status"):
        build_card([ParentInput(1, good.drop("status"))], [], CardOptions())
    with pytest.raises(BuildError, match="currency factor"):
        build_card([ParentInput(1, good, fx_denominator=0)], [], CardOptions())
    with pytest.raises(BuildError, match="strategy"):
        build_card([ParentInput(1, good)], [], CardOptions(strategy="cheapest"))


def test_twenty_digit_prefixes_match_as_text() -> None:
    long = "9" * 20
    parent = ParentInput(1, deck({"9" * 19: row(100), long: row(200)}))
    other = ParentInput(2, deck({long[:5]: row(300)}))
    out = build([parent, other], precision=8)
    assert out[long]["candidates"] == [(1, Decimal("0.000002")), (2, Decimal("0.000003"))]
    assert out["9" * 19]["candidates"] == [(1, Decimal("0.000001")), (2, Decimal("0.000003"))]
