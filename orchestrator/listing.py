"""Search, sort and paginate a list query the same way for the API, web and CLI."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from orchestrator.errors import ValidationFailed

T = TypeVar("T")
MAX_PER_PAGE = 500


@dataclass(frozen=True)
class ListQuery:
    q: str = ""
    sort: str = ""  # "name" ascending, "-name" descending; comma-separated for several
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def paginate(session: Session, stmt: Select[T], query: ListQuery,
             search: Sequence[InstrumentedAttribute[Any]],
             sortable: dict[str, InstrumentedAttribute[Any]],
             default_sort: str = "id") -> Page[T]:
    """Apply q (case-insensitive substring over search), sort, and the page window."""
    errors: dict[str, list[str]] = {}
    if query.page < 1:
        errors["page"] = ["must be 1 or more"]
    if not 1 <= query.per_page <= MAX_PER_PAGE:
        errors["per_page"] = [f"must be between 1 and {MAX_PER_PAGE}"]
    order: list[ColumnElement[Any]] = []
    for key in filter(None, (query.sort or default_sort).split(",")):
        name = key.strip().lstrip("-")
        column = sortable.get(name)
        if column is None:
            errors["sort"] = [f"unknown field {name!r}; one of: {', '.join(sorted(sortable))}"]
            continue
        order.append(column.desc() if key.strip().startswith("-") else column.asc())
    if errors:
        raise ValidationFailed(errors)
    if query.q.strip() and search:
        pattern = f"%{query.q.strip().lower()}%"
        stmt = stmt.where(or_(*(func.lower(col).like(pattern) for col in search)))
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    id_column = sortable.get("id")
    if id_column is not None:
        order.append(id_column.asc())  # stable order across pages
    rows = session.scalars(stmt.order_by(*order).limit(query.per_page)
                           .offset((query.page - 1) * query.per_page)).all()
    return Page(rows, int(total or 0), query.page, query.per_page)
