"""Checks shared by the subsystem modules: turn an RPC result into typed values."""

from __future__ import annotations

from typing import Any

from orchestrator.kamailio.errors import KamailioProtocolError


def as_dict(method: str, result: Any) -> dict[str, Any]:
    if not isinstance(result, dict):
        raise KamailioProtocolError(f"{method}: expected an object, got {result!r:.200}")
    return result


def as_list(method: str, result: Any) -> list[Any]:
    """An array; ``{}`` counts as empty (what jsonrpcs sends when nothing was added)."""
    if result == {}:
        return []
    if not isinstance(result, list):
        raise KamailioProtocolError(f"{method}: expected an array, got {result!r:.200}")
    return result


def as_int(method: str, value: Any, field: str = "value") -> int:
    """An integer field; Kamailio sometimes prints numbers as strings."""
    if isinstance(value, bool):
        raise KamailioProtocolError(f"{method}: {field} is not an integer: {value!r}")
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise KamailioProtocolError(
            f"{method}: {field} is not an integer: {value!r:.100}") from None


def field(method: str, data: dict[str, Any], name: str) -> Any:
    if name not in data:
        raise KamailioProtocolError(f"{method}: answer lacks {name!r}: {data!r:.200}")
    return data[name]
