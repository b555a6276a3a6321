"""Errors every service function raises; each interface maps them the same way.

REST: ValidationFailed 422 (one entry per field), NotFound 404, Conflict 409,
PermissionDenied 403, TooSoon 429. Web: inline field errors / flash. CLI: message, exit 1.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base: a request the service refuses; nothing was changed."""


class ValidationFailed(ServiceError):
    """Bad input; ``errors`` maps each bad field (or "row 3, column prefix") to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items()))

    @classmethod
    def one(cls, field: str, message: str) -> ValidationFailed:
        return cls({field: [message]})


class NotFound(ServiceError):
    def __init__(self, kind: str, ident: object) -> None:
        super().__init__(f"{kind} {ident} not found")
        self.kind = kind
        self.ident = ident


class Conflict(ServiceError):
    """The request clashes with existing data (duplicate name, overlapping IP, in use)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class PermissionDenied(ServiceError):
    """The actor's role does not allow this."""


class TooSoon(ServiceError):
    """Asked again before the allowed wait is over (a verification code resent too soon).

    REST: 429 with ``Retry-After``. ``field`` names what was refused.
    """

    def __init__(self, field: str, message: str, retry_after: int) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.retry_after = max(1, int(retry_after))
