"""The blueprint every resource module makes: /api/v1 prefix, one OpenAPI tag."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from werkzeug.exceptions import NotFound

PREFIX = "/api/v1"
MAX_ID = 2**63 - 1  # what the database's integer keys can hold


def _ids_in_range(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """An integer path argument out of the database's range is simply not found."""
    for value in (values or {}).values():
        if isinstance(value, int) and not 0 < value <= MAX_ID:
            raise NotFound()


def resource_blueprint(name: str, tag: str) -> APIBlueprint:
    bp = APIBlueprint(name, __name__, url_prefix=PREFIX, tag=tag)
    bp.url_value_preprocessor(_ids_in_range)
    return bp
