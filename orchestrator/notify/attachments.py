"""Attachments made at delivery time: a message stores ``{"kind": ..., ...}`` and the
resolver registered for that kind makes (file name, MIME type, bytes) from it.

A rate card attachment is an export of one revision (orchestrator.ratecards), made when
the email goes out instead of being stored in the database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

Attachment = tuple[str, str, bytes]
Resolver = Callable[[Session, dict[str, Any]], Attachment]

_resolvers: dict[str, Resolver] = {}


def register(kind: str, resolver: Resolver) -> None:
    _resolvers[kind] = resolver


def resolve(session: Session, spec: dict[str, Any]) -> Attachment:
    kind = str(spec.get("kind", ""))
    if kind not in _resolvers:
        raise LookupError(f"no attachment resolver for {kind!r}; known: "
                          f"{', '.join(sorted(_resolvers)) or 'none'}")
    return _resolvers[kind](session, spec)
