"""`orchestrator carriers add` with the header policy options."""

from __future__ import annotations

from typing import Any

from tests.unit.carriers.test_carrier_cli import parsed, run  # noqa: F401 (fixture)


def test_add_with_header_policy(run: Any) -> None:  # noqa: F811
    carrier = parsed(run("add", "--name", "Private", "--currency", "usd",
                         "--pass-headers", "", "--no-trust-pai", "--json"))
    assert carrier["pass_headers"] == [] and carrier["trust_pai"] is False
    plain = parsed(run("add", "--name", "Plain", "--currency", "usd", "--json"))
    assert plain["pass_headers"] == ["Diversion", "History-Info", "Remote-Party-ID"]
    assert plain["trust_pai"] is True
    bad = run("add", "--name", "Bad", "--currency", "usd", "--pass-headers", "X-a b*c")
    assert bad.exit_code == 1 and "pass_headers" in bad.output
