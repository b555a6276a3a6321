"""Search, sort and paginate a list query the same way for the API, web and CLI."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Integer,
    Numeric,
    Select,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from orchestrator.errors import ValidationFailed

T = TypeVar("T")
_NOT_TEXT = (Integer, Numeric, DateTime, Date, Boolean)
# A search matching at most this many rows sorts them; more, and the index walk wins.
SORT_MATCHES_UP_TO = 5000
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


def like_pattern(text: str) -> str:
    """``%text%`` for LIKE with ``\\`` as the escape character: % and _ match themselves."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _sort_expression(column: Any, sort_matches: bool) -> Any:
    """For a selective search, sort the matches instead of walking an index of every row.

    A text column with an index (a unique name) tempts the planner into reading the
    whole table in index order to skip the sort; when few rows match, that is a
    random read of every row before the page fills. ``column || ''`` hides the index,
    so the engine scans once and sorts only what matched. When many rows match, the
    index walk fills the page after a few hundred rows and is the faster plan.
    """
    if sort_matches and not isinstance(getattr(column, "type", None), _NOT_TEXT):
        return column.op("||")(literal(""))  # text, or a function of text (lower(name))
    return column


def paginate(session: Session, stmt: Select[T], query: ListQuery,
             search: Sequence[InstrumentedAttribute[Any]],
             sortable: dict[str, InstrumentedAttribute[Any]],
             default_sort: str = "id", *,
             search_text: InstrumentedAttribute[str] | None = None) -> Page[T]:
    """Apply q (case-insensitive substring over search), sort, and the page window.

    ``search_text``: one pre-lowered column holding all searched fields (see
    ``orchestrator.db.types.Searchable``); used instead of ``search`` when given.
    """
    searching = bool(query.q.strip()) and (search_text is not None or bool(search))
    errors: dict[str, list[str]] = {}
    if query.page < 1:
        errors["page"] = ["must be 1 or more"]
    if not 1 <= query.per_page <= MAX_PER_PAGE:
        errors["per_page"] = [f"must be between 1 and {MAX_PER_PAGE}"]
    keys: list[tuple[Any, bool]] = []
    for key in filter(None, (query.sort or default_sort).split(",")):
        name = key.strip().lstrip("-")
        column = sortable.get(name)
        if column is None:
            errors["sort"] = [f"unknown field {name!r}; one of: {', '.join(sorted(sortable))}"]
            continue
        keys.append((column, key.strip().startswith("-")))
    if errors:
        raise ValidationFailed(errors)
    if searching:
        pattern = like_pattern(query.q.strip().lower())
        if search_text is not None:
            stmt = stmt.where(search_text.like(pattern, escape="\\"))
        else:
            stmt = stmt.where(or_(*(func.lower(col).like(pattern, escape="\\")
                                    for col in search)))
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    sort_matches = searching and (total or 0) <= SORT_MATCHES_UP_TO
    order: list[ColumnElement[Any]] = []
    for column, descending in keys:
        expr = _sort_expression(column, sort_matches)
        order.append(expr.desc() if descending else expr.asc())
    id_column = sortable.get("id")
    if id_column is not None:
        order.append(id_column.asc())  # stable order across pages
    rows = session.scalars(stmt.order_by(*order).limit(query.per_page)
                           .offset((query.page - 1) * query.per_page)).all()
    return Page(rows, int(total or 0), query.page, query.per_page)
