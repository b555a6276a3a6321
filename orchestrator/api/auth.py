"""Bearer-token authentication and roles for API views: ``@api_auth("read")``.

The API never looks at the web admin's session cookie: only the
``Authorization: Bearer <token>`` header authenticates a request.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

from apiflask import HTTPError
from flask import request
from sqlalchemy.orm import Session
from werkzeug.http import HTTP_STATUS_CODES

from orchestrator.actor import Actor
from orchestrator.users.models import AdminUser, ApiToken
from orchestrator.users.tokens import resolve
from webui.db import db

P = ParamSpec("P")
R = TypeVar("R")

SECURITY_SCHEME = "BearerAuth"
SECURITY_SCHEMES = {SECURITY_SCHEME: {
    "type": "http", "scheme": "bearer",
    "description": "A token from POST /api/v1/tokens, sent as `Authorization: Bearer <token>`",
}}
REALM = "orchestrator"
PERMISSIONS = ("read", "write", "admin")


@dataclass(frozen=True)
class ApiContext:
    """What an authenticated API view gets: who acts, and the request's DB session."""

    actor: Actor
    user: AdminUser
    token: ApiToken

    @property
    def db(self) -> Session:
        return db()


def unauthorized(message: str, error: str | None = None) -> HTTPError:
    challenge = f'Bearer realm="{REALM}"' + (f', error="{error}"' if error else "")
    return HTTPError(401, message, headers={"WWW-Authenticate": challenge})


def authenticate_request() -> ApiContext:
    header = request.headers.get("Authorization", "")
    if not header.strip():
        raise unauthorized("Authentication required: send Authorization: Bearer <token>")
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or " " in value:
        raise unauthorized("Malformed Authorization header: expected Bearer <token>",
                           "invalid_request")
    found = resolve(db(), value)
    if found is None:
        raise unauthorized("Invalid, revoked or expired token", "invalid_token")
    token, user = found
    return ApiContext(Actor(user.id, user.username, user.role), user, token)


def _document(view: Any) -> None:
    """Security requirement, 401 and 403 in the OpenAPI document of this operation."""
    spec = view.__dict__.setdefault("_spec", {})
    spec["security"] = SECURITY_SCHEME
    responses = spec.get("responses") or {}
    if isinstance(responses, list):
        responses = {code: HTTP_STATUS_CODES.get(int(code), "") for code in responses}
    responses.setdefault(403, "Forbidden: the role does not allow this")
    spec["responses"] = responses


def api_auth(permission: str) -> Callable[[Callable[Concatenate[ApiContext, P], R]],
                                          Callable[P, R]]:
    """Require a valid bearer token whose user's role has ``permission``.

    Place it right under the route decorator (above ``@bp.input``/``@bp.output``/
    ``@bp.doc``) so that authentication comes before input validation; the view
    receives an :class:`ApiContext` as its first argument.
    """
    if permission not in PERMISSIONS:
        raise ValueError(f"permission must be one of {PERMISSIONS}")

    def decorate(view: Callable[Concatenate[ApiContext, P], R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            ctx = authenticate_request()
            ctx.actor.require(permission)
            return view(ctx, *args, **kwargs)

        _document(wrapped)
        return wrapped

    return decorate
