"""Profit-rule validation and matching: Python ``re`` and polars must agree."""

from __future__ import annotations

import itertools
import re
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.ratecards.rules import (
    RuleError,
    RuleInput,
    anchored_pattern,
    match_error,
    parse_rules,
    rule_index_expr,
    validate_rules,
)

# every digit string of length 1-4 over 0-3 and 9: enough to tell patterns apart
PROBES = ["".join(p) for n in range(1, 5) for p in itertools.product("01239", repeat=n)]


def agree(pattern: str) -> None:
    """Python re.match and polars str.contains on ^(?:pattern) give the same answers."""
    expected = [re.match(pattern, probe) is not None for probe in PROBES]
    got = pl.Series(PROBES).str.contains(anchored_pattern(pattern)).to_list()
    assert got == expected, pattern


@pytest.mark.parametrize("pattern", [
    "^44", "^1(204|226)", "1|2", "[12]3", "3{2}", "1.?2", r"\d3", "(?:12|3)$", "[^1]",
    "2*3", "1+2?$", "[1-2]{2,}", "(1|22)+3", ".2.", "2{1,2}1", "1*?2", "[\\d]9", "()1",
    "^$", "9{0}",
])
def test_accepted_patterns_mean_the_same_in_both_engines(pattern: str) -> None:
    assert match_error(pattern) is None
    agree(pattern)


@pytest.mark.parametrize(("pattern", "words"), [
    (r"(1)\1", "backreferences"), ("(?=1)", "lookaround"), ("(?<=1)2", "lookaround"),
    ("(?!1)", "lookaround"), ("(?P<x>1)", "names"), ("(?i)1", "flags"), ("(?>1)", "(?"),
    ("1*+", "possessive"), ("1++", "possessive"), ("1{2}{3}", "stack"),
    ("[[:digit:]]", "inside [ ]"), ("[1&&2]", "inside [ ]"), ("a", "may not contain"),
    (r"\w", "escape"), (r"\Z", "escape"), ("(1", "unbalanced ("), ("1)", "unbalanced )"),
    ("1{,2}", "braces"), ("1{a}", "braces"), ("[]", "empty"), ("[^]", "empty"),
    ("[3-1]", "reversed"), ("[12", "unclosed"), ("*1", "nothing to repeat"),
    ("1|*", "nothing to repeat"), ("1{3,2}", "n < m"), ("1{5000}", "1000"),
    ("1 2", "may not contain"), ("1" * 201, "longer than"),
])
def test_refused_patterns_name_the_problem(pattern: str, words: str) -> None:
    error = match_error(pattern)
    assert error is not None and words in error, (pattern, error)
    assert "match" in validate_rules([RuleInput(match=pattern)])[0]


ATOMS = st.sampled_from(["1", "2", "3", "9", ".", r"\d", "[12]", "[^2]", "[1-3]", "[0\\d]"])
QUANTIFIERS = st.sampled_from(["", "", "*", "+", "?", "{2}", "{1,}", "{0,2}", "*?", "+?"])
PIECES = st.tuples(ATOMS, QUANTIFIERS).map("".join)
SEQUENCES = st.lists(PIECES, min_size=1, max_size=3).map("".join)
GRAMMAR = st.recursive(SEQUENCES, lambda inner: st.one_of(
    st.tuples(inner, inner).map("|".join),
    st.tuples(inner, QUANTIFIERS).map(lambda p: f"({p[0]}){p[1]}"),
    st.tuples(inner, inner).map(lambda p: f"(?:{p[0]}){p[1]}"),
), max_leaves=5)
PATTERNS = st.tuples(st.sampled_from(["", "^"]), GRAMMAR, st.sampled_from(["", "$"])).map(
    "".join)


@settings(max_examples=200, deadline=None)
@given(PATTERNS)
def test_grammar_patterns_are_accepted_and_agree(pattern: str) -> None:
    assert match_error(pattern) is None, pattern
    agree(pattern)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0129^$|()[]-.*+?{},\\dwP<>=!:a &", max_size=10))
def test_any_accepted_text_agrees(pattern: str) -> None:
    """Whatever the validator lets through, both engines read alike."""
    error = match_error(pattern)
    if error is None:
        if pattern and not pattern.isdigit():
            agree(pattern)
    else:
        assert validate_rules([RuleInput(match=pattern)]) == {0: {"match": error}}


@pytest.mark.parametrize(("rule", "field", "words"), [
    (RuleInput(value="abc"), "value", "not a decimal"),
    (RuleInput(value="NaN"), "value", "not a decimal"),
    (RuleInput(value=Decimal("Infinity")), "value", "not a decimal"),
    (RuleInput(type="relative", value="-0.01"), "value", "negative"),
    (RuleInput(type="absolute", value=Decimal("-1")), "value", "negative"),
    (RuleInput(type="percent", value="-100.01"), "value", "below -100"),
    (RuleInput(type="relative", value="0.000000001"), "value", "8 decimal"),
    (RuleInput(type="relative", value="1000001"), "value", "above"),
    (RuleInput(mcd=0), "mcd", "positive"),
    (RuleInput(pulse=-6), "pulse", "positive"),
    (RuleInput(mcd=True), "mcd", "positive"),
    (RuleInput(pulse=1.5), "pulse", "positive"),  # type: ignore[arg-type]
    (RuleInput(connect_fee="-0.1"), "connect_fee", "negative"),
    (RuleInput(connect_fee="x"), "connect_fee", "not a decimal"),
    (RuleInput(type="markup"), "type", "one of"),
    (RuleInput(status="drop"), "status", "one of"),
    (RuleInput(rounding="ceil"), "rounding", "one of"),
    (RuleInput(name_override="n" * 101), "name_override", "longer"),
])
def test_field_errors(rule: RuleInput, field: str, words: str) -> None:
    errors = validate_rules([RuleInput(), rule])
    assert list(errors) == [1]
    assert words in errors[1][field], errors
    with pytest.raises(RuleError) as caught:
        parse_rules([RuleInput(), rule])
    assert caught.value.errors == errors
    assert str(caught.value).startswith("rule 2: ")


def test_valid_rules_parse_to_units() -> None:
    rules = [RuleInput(match="", type="percent", value="-100"),
             RuleInput(match="44", type="relative", value="0.00000001", connect_fee="0.5",
                       mcd=30, pulse=6, rounding="half_down", name_override="UK"),
             RuleInput(match="^1(204|226)", type="absolute", value=Decimal("1.5"),
                       status="blocked")]
    assert validate_rules(rules) == {}
    parsed = parse_rules(rules)
    assert [p.kind for p in parsed] == ["all", "exact", "regex"]
    assert [p.value_units for p in parsed] == [-10_000_000_000, 1, 150_000_000]
    assert parsed[1].connect_fee_units == 50_000_000 and parsed[0].connect_fee_units is None


def test_rule_index_is_the_first_match() -> None:
    rules = parse_rules([RuleInput(match="4420"), RuleInput(match="^44"),
                         RuleInput(match="1|2"), RuleInput(match="")])
    prefixes = ["4420", "44201", "44", "1", "21", "3", "442"]
    got = pl.DataFrame({"prefix": prefixes}).select(rule_index_expr(rules)).to_series()
    assert got.to_list() == [0, 1, 1, 2, 2, 3, 1]
    exact_only = parse_rules([RuleInput(match="44")])
    exact = pl.DataFrame({"prefix": ["44", "441"]}).select(rule_index_expr(exact_only))
    assert exact.to_series().to_list() == [0, None]
