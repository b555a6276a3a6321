"""Who is acting: passed to every service function that changes something."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.errors import PermissionDenied

# What each role may do (PRODUCT: admin everything; operator all but users and
# settings; viewer read only).
_ALLOWED = {
    "admin": {"read", "write", "admin"},
    "operator": {"read", "write"},
    "viewer": {"read"},
}


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    role: str

    def can(self, permission: str) -> bool:
        return permission in _ALLOWED.get(self.role, set())

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise PermissionDenied(
                f"role {self.role!r} may not {permission}: ask an administrator")


SYSTEM = Actor(None, "system", "admin")
