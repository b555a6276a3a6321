"""One error body for the whole API: ``{"message": str, "errors": {field: [str, ...]}}``.

Service errors (orchestrator.errors), APIFlask's input validation, Werkzeug's HTTP
errors (404, 405, ...) and unexpected failures all come out in this shape, and
whatever the request started in the database is rolled back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apiflask import APIFlask, HTTPError
from flask import Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from orchestrator.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ServiceError,
    TooSoon,
    ValidationFailed,
)

API_PREFIX = "/api/"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["message", "errors"],
    "properties": {
        "message": {"type": "string"},
        "errors": {"type": "object", "description": "bad fields and their messages",
                   "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
}


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def error_response(status: int, message: str, errors: Mapping[str, list[str]] | None = None,
                   headers: Any = None) -> Response:
    """The JSON error; the request's database work is rolled back first."""
    session = g.get("db_session")
    if session is not None:
        session.rollback()
    response = jsonify(message=message, errors=dict(errors or {}))
    response.status_code = status
    for name, value in dict(headers or {}).items():
        response.headers[name] = value
    return response


def flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Marshmallow's nested messages as one entry per field ("address.city", "items.0")."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            name = prefix if str(key) == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
            for field, msgs in flatten(value, name or "body").items():
                out.setdefault(field, []).extend(msgs)
    elif isinstance(detail, list | tuple) and all(isinstance(m, str) for m in detail):
        out[prefix or "body"] = list(detail)
    elif isinstance(detail, list | tuple):
        for index, value in enumerate(detail):
            name = f"{prefix}.{index}" if prefix else str(index)
            for field, msgs in flatten(value, name).items():
                out.setdefault(field, []).extend(msgs)
    else:
        out[prefix or "body"] = [str(detail)]
    return out


def _validation_errors(detail: Any) -> dict[str, list[str]]:
    """APIFlask groups messages by location (json, query, ...); the API does not."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, Mapping):
        for location, messages in detail.items():
            top = "body" if location in ("json", "form") else str(location)
            for field, msgs in flatten(messages, "").items():
                out.setdefault(top if field == "body" else field, []).extend(msgs)
    return out or {"body": ["invalid request"]}


def http_error(error: HTTPError) -> Response:
    """APIFlask's HTTPError, including its input validation failures (422)."""
    if error.status_code == 422:
        return error_response(422, "Validation failed", _validation_errors(error.detail),
                              error.headers)
    return error_response(error.status_code, str(error.message), flatten(error.detail)
                          if error.detail else None, error.headers)


def werkzeug_error(error: HTTPException) -> Response:
    code = error.code or 500
    data = getattr(error, "data", None)  # webargs: a body that is not JSON at all
    if code == 400 and isinstance(data, Mapping) and "messages" in data:
        return error_response(422, "Validation failed", _validation_errors(data["messages"]))
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    message = "Internal server error" if code >= 500 else (error.name or "Error")
    if code == 404:
        message = "Not found: no such API endpoint or object"
    elif code == 405:
        message = f"Method {request.method} not allowed here"
    return error_response(code, message, None, headers)


def service_error(error: ServiceError) -> Response:
    if isinstance(error, ValidationFailed):
        return error_response(422, "Validation failed", error.errors)
    if isinstance(error, NotFound):
        return error_response(404, str(error))
    if isinstance(error, Conflict):
        return error_response(409, str(error), {error.field: [error.message]})
    if isinstance(error, PermissionDenied):
        return error_response(403, str(error) or "Forbidden")
    if isinstance(error, TooSoon):
        return error_response(429, str(error), {error.field: [error.message]},
                              {"Retry-After": str(error.retry_after)})
    return error_response(400, str(error))


def register(app: APIFlask) -> None:
    """Install the API's handlers (HTTPException is dispatched by the web app)."""
    app.config.update(HTTP_ERROR_SCHEMA=ERROR_SCHEMA, VALIDATION_ERROR_SCHEMA=ERROR_SCHEMA,
                      VALIDATION_ERROR_DESCRIPTION="Validation failed: one entry per bad "
                      "field")
    app.register_error_handler(HTTPError, http_error)
