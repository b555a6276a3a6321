"""Dial string lines -> dialplan PCREs that an unanchored search applies like re.match."""

from __future__ import annotations

import re

import pytest

from orchestrator.compile.compiler import dial_pattern, dial_rules
from orchestrator.compile.snapshot import DialRule
from orchestrator.routing import routes


def test_digit_lines_get_a_caret_and_blank_lines_do_not_count() -> None:
    assert dial_rules(7, "\n 44 \n\n^1(204|226)\n33|34\n") == (
        DialRule(7, 1, "^44"), DialRule(7, 2, "^1(204|226)"), DialRule(7, 3, "^(?:33|34)"))
    assert dial_rules(7, "  \n") == ()


def test_global_flags_stay_in_front() -> None:
    assert dial_pattern("(?i)44|33") == "(?i)^(?:44|33)"


@pytest.mark.parametrize("line", ["44", "^44", "33|34", "^44|33", "1(204|226)", "[4-5]9",
                                  r"^1\d{3}$", "(?:44)?1", "a|[|]|44"])
def test_dial_pattern_searched_like_the_model_matches(line: str) -> None:
    pattern = re.compile(dial_pattern(line))
    for number in ("44", "4412", "544", "33", "533", "3412", "12045", "91204", "49",
                   "1234", "0441", "441", "|"):
        assert (pattern.search(number) is not None) == routes.dial_string_allows(line, number), \
            (line, number)
