"""Field types every resource shares: money as decimal strings, times in UTC."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from apiflask import fields
from marshmallow import ValidationError

from orchestrator.header_policy import names_of


class Money(fields.Decimal):
    """A decimal amount, sent and received as a string ("12.5000"), never a float.

    Numbers are accepted on input too; NaN and infinities are refused.
    """

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"type": "string", "format": "decimal", "example": "12.50",
                    **kwargs.pop("metadata", {})}
        super().__init__(as_string=True, allow_nan=False, metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, float):
            value = repr(value)  # 0.1 -> "0.1", not 0.1000000000000000055...
        result: Decimal = super()._deserialize(value, attr, data, **kwargs)
        return result


class UtcDateTime(fields.DateTime):
    """ISO 8601 with an offset; naive values (SQLite hands them back) are UTC."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return super()._serialize(value, attr, obj, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any,
                     **kwargs: Any) -> dt.datetime:
        result: dt.datetime = super()._deserialize(value, attr, data, **kwargs)
        if result.tzinfo is None:
            return result.replace(tzinfo=dt.UTC)
        return result.astimezone(dt.UTC)


class HeaderNames(fields.Field[Any]):
    """A header policy list (orchestrator/header_policy.py): a list of header names or
    one string of names separated by commas; the service checks the names."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) or (isinstance(value, list)
                                      and all(isinstance(v, str) for v in value)):
            return value
        raise ValidationError("must be a list of header names or one string of names")


PASS_HEADERS_DOC = ("optional headers (X-*, Diversion, History-Info, Remote-Party-ID) "
                    "exchanged with the switch: one passes between a customer and a "
                    "carrier only when both list it; X-Name* matches every X- header "
                    "starting with X-Name; default Diversion, History-Info, "
                    "Remote-Party-ID (no X- header)")


def pass_headers_in(**kwargs: Any) -> HeaderNames:
    return HeaderNames(metadata={"oneOf": [{"type": "array", "items": {"type": "string"}},
                                           {"type": "string"}],
                                 "description": PASS_HEADERS_DOC}, **kwargs)


def pass_headers_out() -> fields.Function:
    """The stored canonical text, answered as a list of names."""
    return fields.Function(lambda obj: list(names_of(obj.pass_headers)), required=True,
                           metadata={"type": "array", "items": {"type": "string"},
                                     "description": PASS_HEADERS_DOC})
