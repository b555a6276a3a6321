"""List endpoints: ``q, sort, page, per_page`` in, ``{items, total, page, per_page}`` out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar, cast

from apiflask import Schema, fields
from apiflask.validators import Length, Range

from orchestrator.errors import ValidationFailed
from orchestrator.listing import MAX_PER_PAGE, ListQuery, Page

T = TypeVar("T")

MAX_PAGE = 1_000_000


class ListArgs(Schema):
    """Query arguments of every list; subclass it to add a resource's filters."""

    q = fields.String(load_default="", validate=Length(max=200),
                      metadata={"description": "case-insensitive search in the main text "
                                "fields"})
    sort = fields.String(load_default="", validate=Length(max=200),
                         metadata={"description": "field name, `-` prefix for descending, "
                                   "comma-separated for several (e.g. `-created_at,name`)"})
    page = fields.Integer(load_default=1, validate=Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=50, validate=Range(min=1, max=MAX_PER_PAGE))


def list_query(args: dict[str, Any]) -> ListQuery:
    """The ListQuery of parsed ListArgs (extra filter keys are ignored)."""
    return ListQuery(q=args.get("q", ""), sort=args.get("sort", ""),
                     page=args.get("page", 1), per_page=args.get("per_page", 50))


_PAGE_SCHEMAS: dict[type[Schema], type[Schema]] = {}


def page_of(item: type[Schema]) -> type[Schema]:
    """The envelope schema of a list of ``item`` (one class per item schema)."""
    if item not in _PAGE_SCHEMAS:
        name = item.__name__.removesuffix("Schema").removesuffix("Out") + "Page"
        _PAGE_SCHEMAS[item] = cast("type[Schema]", type(name, (Schema,), {
            "items": fields.List(fields.Nested(item), required=True),
            "total": fields.Integer(required=True),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
        }))
    return _PAGE_SCHEMAS[item]


def envelope(page: Page[Any]) -> dict[str, Any]:
    """What a list view returns (through ``@bp.output(page_of(ItemOut))``)."""
    return {"items": list(page.items), "total": page.total, "page": page.page,
            "per_page": page.per_page}


def _sort_key(value: Any) -> tuple[bool, Any]:
    """None (e.g. "any port") sorts first; text ignores case."""
    return (value is not None, value.lower() if isinstance(value, str) else value)


def page_list(items: Sequence[T], args: dict[str, Any], search: Sequence[str],
              sortable: Sequence[str], default_sort: str = "id") -> dict[str, Any]:
    """The list envelope of a short in-memory list (a card's rules, a carrier's
    gateways) after ``q`` (substring of the ``search`` attributes), sort and the page
    window; the same answers as a database list."""
    keys = [k.strip() for k in (args.get("sort") or default_sort).split(",") if k.strip()]
    unknown = [k.lstrip("-") for k in keys if k.lstrip("-") not in sortable]
    if unknown:
        raise ValidationFailed.one("sort", f"unknown field {unknown[0]!r}; one of: "
                                   f"{', '.join(sorted(sortable))}")
    q = (args.get("q") or "").strip().lower()
    rows = [item for item in items
            if not q or any(q in str(getattr(item, f)).lower() for f in search)]
    rows.sort(key=lambda item: getattr(item, "id"))  # noqa: B009 - stable tie-break
    for key in reversed(keys):
        name = key.lstrip("-")
        rows.sort(key=lambda item: _sort_key(getattr(item, name)), reverse=key.startswith("-"))
    page, per_page = args.get("page", 1), args.get("per_page", 50)
    start = (page - 1) * per_page
    return {"items": rows[start:start + per_page], "total": len(rows), "page": page,
            "per_page": per_page}
