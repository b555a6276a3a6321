"""`orchestrator customers add` with the header policy options."""

from __future__ import annotations

import json
from typing import Any

from tests.unit.customers.test_cli_customers import run  # noqa: F401 (fixture)


def test_add_with_header_policy(run: Any) -> None:  # noqa: F811
    added = run("add", "--name", "Acme", "--currency", "usd",
                "--pass-headers", "x-acme-*, Diversion", "--pai", "require", "--json")
    assert added.exit_code == 0, added.output
    customer = json.loads(added.output)
    assert customer["pass_headers"] == ["Diversion", "X-acme-*"]
    assert customer["pai"] == "require"
    plain = json.loads(run("add", "--name", "Plain", "--currency", "usd", "--json").output)
    assert plain["pass_headers"] == ["Diversion", "History-Info", "Remote-Party-ID"]
    assert plain["pai"] == "accept"
    bad = run("add", "--name", "Bad", "--currency", "usd", "--pass-headers", "P-Foo")
    assert bad.exit_code == 1 and "pass_headers: 'P-Foo' is not filtered" in bad.output
    refused = run("add", "--name", "Bad", "--currency", "usd", "--pai", "maybe")
    assert refused.exit_code == 2
