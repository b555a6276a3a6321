"""Header policy lists (orchestrator/header_policy.py): parsing, the regular
expressions the switch gets, the template's constants, the htable keys, validation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestrator.compile.snapshot import CarrierRow, CustomerRow, Snapshot
from orchestrator.compile.validate import validate_snapshot
from orchestrator.errors import ValidationFailed
from orchestrator.header_policy import (
    DEFAULT_PASS,
    DEFAULT_REGEX,
    FAMILY_REGEX,
    allowed_regex,
    is_optional,
    names_of,
    parse_pass_headers,
    passes,
)
from orchestrator.switch.tablefile import sw_items

TEMPLATE = Path(__file__).resolve().parents[2] / "templates/kamailio/headers.cfg.j2"


def test_lists_are_canonical_sorted_and_unique_ignoring_case() -> None:
    assert parse_pass_headers("x-foo, diversion X-Acme-*;X-FOO\nremote-party-id") == \
        "Diversion, Remote-Party-ID, X-Acme-*, X-foo"
    assert parse_pass_headers(["History-Info", "x-b", "X-a"]) == "History-Info, X-a, X-b"
    assert parse_pass_headers("") == "" and parse_pass_headers(None) == ""
    assert parse_pass_headers("Remote-Party-ID, History-Info, Diversion") == DEFAULT_PASS
    assert names_of(DEFAULT_PASS) == ("Diversion", "History-Info", "Remote-Party-ID")
    assert names_of("") == ()


@pytest.mark.parametrize(("value", "message"), [
    ("X-Foo:", "is not a header name"),
    ("X-Fo(o)", "is not a header name"),
    ("Div*", "only allowed for X- headers"),
    ("X-*-foo", "is not a header name"),
    ("P-Charge-Info", "is not filtered by the switch"),
    ("P-Asserted-Identity", "has its own setting"),
    ("X-", "names no header"),
    ("X-" + "a" * 70, "at most 64 characters"),
    (", ".join(f"X-{n}" for n in range(51)), "at most 50 header names"),
    (42, "must be a list of header names"),
    (["X-Foo", 3], "must be a list of header names"),
])
def test_bad_lists_are_refused_with_a_reason(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_pass_headers(value)


def test_regexes_match_exact_names_ignoring_case_with_wildcards() -> None:
    allowed = names_of(parse_pass_headers("X-Foo, X-Acme-*, X-a.b, X-c+d"))
    assert passes("x-foo", allowed) and passes("X-ACME-Id", allowed)
    assert passes("X-a.b", allowed) and passes("X-c+d", allowed)
    assert not passes("X-Foobar", allowed) and not passes("X-Fo", allowed)
    assert not passes("X-Acme", allowed) and not passes("X-aXb", allowed)
    assert not passes("X-ccd", allowed) and not passes("Diversion", allowed)
    assert allowed_regex(()) == "^$" and not passes("X-Foo", ())
    assert is_optional("x-anything") and is_optional("DIVERSION")
    assert not is_optional("P-Asserted-Identity") and not is_optional("Diversionx")
    assert allowed_regex(names_of(DEFAULT_PASS)) == DEFAULT_REGEX


def test_the_script_constants_are_the_python_ones() -> None:
    text = TEMPLATE.read_text()
    assert f'#!define HP_FAMILY "{FAMILY_REGEX}"' in text
    assert f'#!define HP_DEFAULT "{DEFAULT_REGEX}"' in text


def _snapshot(customer_pass: str = DEFAULT_PASS, pai: str = "accept",
              carrier_pass: str = DEFAULT_PASS, trust: bool = True) -> Snapshot:
    return Snapshot(customers=(CustomerRow(1, "ok", 0, 0, True, "A", customer_pass, pai),),
                    carriers=(CarrierRow(2, 0, 0, 30000, 30000, "K", carrier_pass, trust),))


def test_htable_keys_of_the_policy() -> None:
    default = dict((k, v) for k, _, v in sw_items(_snapshot(), 1))
    assert default["1:c:1:pai"] == "0" and default["1:k:2:tpai"] == "1"
    assert "1:c:1:hx" not in default and "1:k:2:hx" not in default
    custom = {k: (t, v) for k, t, v in sw_items(_snapshot(
        "X-Acme-*, X-Foo", "require", "", False), 2)}
    assert custom["2:c:1:hx"] == (0, "^(X-Acme-.*|X-Foo)$")
    assert custom["2:c:1:pai"] == (1, "1")
    assert custom["2:k:2:hx"] == (0, "^$") and custom["2:k:2:tpai"] == (1, "0")
    removing = dict((k, v) for k, _, v in sw_items(_snapshot(pai="remove"), 1))
    assert removing["1:c:1:pai"] == "2"


def test_validation_refuses_lists_the_switch_cannot_use() -> None:
    validate_snapshot(_snapshot("X-Foo", "remove", "", False))
    with pytest.raises(ValidationFailed) as bad:
        validate_snapshot(_snapshot("x-foo, Diversion", "maybe", "P-Foo"))
    errors = bad.value.errors
    assert any("canonical form" in m for m in errors["customer 1 (A)"])
    assert any("pai 'maybe'" in m for m in errors["customer 1 (A)"])
    assert any("is not filtered" in m for m in errors["carrier 2 (K)"])


def test_snapshot_json_keeps_the_policy() -> None:
    snap = _snapshot("X-Foo", "require", "", False)
    again = Snapshot.from_json(snap.to_json())
    assert again == snap and again.customers[0].pai == "require"
    assert again.carriers[0].trust_pai is False


def test_default_policies_keep_the_snapshot_version_of_older_snapshots() -> None:
    """Rows at their default policy serialise as before the policy existed, so
    snapshots stored by earlier versions load (their version still matches)."""
    snap = _snapshot()
    text = snap.to_json()
    assert "pass_headers" not in text and "trust_pai" not in text and '"pai"' not in text
    assert Snapshot.from_json(text) == snap
    custom = _snapshot(pai="remove")
    assert custom.version != snap.version and '"pai":"remove"' in custom.to_json()
