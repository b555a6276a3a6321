"""List endpoints: ``q, sort, page, per_page`` in, ``{items, total, page, per_page}`` out."""

from __future__ import annotations

from typing import Any, cast

from apiflask import Schema, fields
from apiflask.validators import Length, Range

from orchestrator.listing import MAX_PER_PAGE, ListQuery, Page

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
