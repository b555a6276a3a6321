"""Header policy of customers and carriers (issue 6, docs/header-policy.md).

Optional headers: every ``X-`` header and the ``OPTIONAL`` names below. One of them
goes from party A to party B (customer -> carrier in requests, carrier -> customer in
replies, either way in a dialog) only when both A's and B's ``pass_headers`` list it.
Every other header passes untouched, except P-Asserted-Identity (customer ``pai``,
carrier ``trust_pai`` with ``Privacy: id``).

A ``pass_headers`` list is stored as its canonical text: names in their usual spelling,
unique ignoring case, sorted, joined by ", " (e.g. "Diversion, Remote-Party-ID, X-Acme-*").
A name ends with ``*`` for every header that starts with the rest (only for ``X-``
names: ``X-*`` passes every X- header).

The switch gets each list as a POSIX extended regular expression over header names
(``allowed_regex``), used with textops ``remove_hf_exp`` (templates/kamailio/headers.cfg.j2):
remove what matches ``FAMILY_REGEX`` and not the sender's list, then what matches the
sender's list and not the receiver's. Kamailio compiles these expressions ignoring case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# Optional headers besides X-*; their usual spelling (names match ignoring case).
OPTIONAL = ("Diversion", "History-Info", "Remote-Party-ID")
DEFAULT_PASS = ", ".join(OPTIONAL)

PAI_MODES = ("accept", "require", "remove")
PAI_CODES = {"accept": 0, "require": 1, "remove": 2}  # htable g:c:<id>:pai

# The reply to a customer whose pai is "require" and whose INVITE has no PAI.
PAI_REQUIRED = "403 PAI Required"

MAX_NAMES = 50
MAX_NAME = 64
MAX_TEXT = 1000  # the column: String(1000)

# RFC 3261 token characters; "*" only at the end (checked apart)
_TOKEN = re.compile(r"^[A-Za-z0-9.!%_+`'~-]+$")
_SPLIT = re.compile(r"[\s,;]+")
# ERE: characters of a token that are special in a regular expression
_SPECIAL = set(".+")


def _alternation(names: Iterable[str]) -> str:
    return "|".join(names)


def _pattern(name: str) -> str:
    """One list entry as an ERE over a header name (no anchors)."""
    wildcard = name.endswith("*")
    stem = name[:-1] if wildcard else name
    escaped = "".join(f"[{c}]" if c in _SPECIAL else c for c in stem)
    return escaped + (".*" if wildcard else "")


def allowed_regex(names: Iterable[str]) -> str:
    """The ERE matching exactly the header names a list allows; ``^$`` (no header
    name is empty) for an empty list."""
    items = [_pattern(n) for n in names]
    return f"^({_alternation(items)})$" if items else "^$"


FAMILY_REGEX = allowed_regex(("X-*", *OPTIONAL))
DEFAULT_REGEX = allowed_regex(OPTIONAL)


def _canonical(name: str) -> str:
    for known in OPTIONAL:
        if name.lower() == known.lower():
            return known
    if name[:2].lower() == "x-":
        return "X-" + name[2:]
    return name


def _sort_key(name: str) -> tuple[int, str]:
    return (1 if name.startswith("X-") else 0, name.lower())


def parse_pass_headers(value: Any) -> str:
    """The canonical text of a ``pass_headers`` input (a list of names or one string of
    names separated by commas, semicolons, spaces or newlines); ValueError says what is
    wrong. An empty input means "no optional header passes"."""
    if value is None:
        value = ""
    if isinstance(value, str):
        raw = [n for n in _SPLIT.split(value) if n]
    elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        raw = [n for v in value for n in _SPLIT.split(v) if n]
    else:
        raise ValueError("must be a list of header names or one text of names separated "
                         "by commas")
    if len(raw) > MAX_NAMES:
        raise ValueError(f"at most {MAX_NAMES} header names (got {len(raw)})")
    names: dict[str, str] = {}
    for name in raw:
        problem = _name_error(name)
        if problem:
            raise ValueError(problem)
        canonical = _canonical(name)
        names.setdefault(canonical.lower(), canonical)
    text = ", ".join(sorted(names.values(), key=_sort_key))
    if len(text) > MAX_TEXT:
        raise ValueError(f"must be at most {MAX_TEXT} characters in all")
    return text


def _name_error(name: str) -> str | None:
    shown = name[:40]
    if len(name) > MAX_NAME:
        return f"{shown!r}...: a header name has at most {MAX_NAME} characters"
    stem = name[:-1] if name.endswith("*") else name
    if not stem or not _TOKEN.match(stem):
        return (f"{shown!r} is not a header name: letters, digits and - . ! % _ + ` ' ~ "
                "only, optionally ending with * (e.g. X-Acme-*)")
    if name.endswith("*") and not stem.lower().startswith("x-"):
        return f"{shown!r}: a trailing * is only allowed for X- headers (e.g. X-Acme-*)"
    if name.lower() == "x-":
        return "'X-' alone names no header: write X-* for every X- header"
    if stem.lower().startswith("x-") or name.lower() in (o.lower() for o in OPTIONAL):
        return None
    return (f"{shown!r} is not filtered by the switch (it always passes): the list takes "
            f"X- headers and {', '.join(OPTIONAL)}; P-Asserted-Identity has its own setting")


def names_of(text: str) -> tuple[str, ...]:
    """The names of a stored (canonical) ``pass_headers`` text."""
    return tuple(n for n in text.split(", ") if n)


def passes(name: str, allowed: Iterable[str]) -> bool:
    """True when a header called ``name`` is in a list (ignoring case; ``*`` wildcards).
    For a header outside the optional family this says nothing: those always pass."""
    return re.match(allowed_regex(allowed), name, re.IGNORECASE) is not None


def is_optional(name: str) -> bool:
    return re.match(FAMILY_REGEX, name, re.IGNORECASE) is not None
