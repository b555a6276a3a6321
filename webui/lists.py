"""Reusable pieces of the web admin's list pages (customers, carriers, ...).

A ``ListSpec`` names the columns of a list; from it and the request this module reads
the ``ListQuery`` (q, sort, page, per_page), remembers each user's column choice in
``UserPreference`` ("columns:<list name>"), and streams the rows as CSV. The rows are
dicts built by the service layer's read views; this module holds no business logic.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Response, stream_with_context, url_for
from sqlalchemy.orm import Session

from orchestrator.listing import MAX_PER_PAGE, ListQuery
from orchestrator.users.models import UserPreference

PER_PAGE_CHOICES = (25, 50, 100, 200)
DEFAULT_PER_PAGE = 50
CSV_CHUNK = 500  # rows fetched per query while streaming a CSV export


@dataclass(frozen=True)
class Column:
    """One column of a list: the row key, its heading and, if sortable, its sort key."""

    key: str
    label: str
    sort: str | None = None
    numeric: bool = False
    always: bool = False  # cannot be hidden (the name that links to the detail page)


@dataclass(frozen=True)
class ListSpec:
    name: str  # "customers": preference key "columns:customers"
    columns: tuple[Column, ...]
    default_sort: str
    hidden_by_default: frozenset[str] = field(default_factory=frozenset)

    @property
    def preference_key(self) -> str:
        return f"columns:{self.name}"

    @property
    def sort_keys(self) -> frozenset[str]:
        return frozenset(c.sort for c in self.columns if c.sort)

    def column_keys(self) -> list[str]:
        return [c.key for c in self.columns]


def _positive_int(text: str | None, default: int, high: int) -> int:
    try:
        value = int(text or "")
    except ValueError:
        return default
    return value if 1 <= value <= high else default


def read_query(args: Mapping[str, str], spec: ListSpec) -> ListQuery:
    """The ListQuery of the request's arguments; anything unusable falls back to defaults
    (a hand-edited URL shows the list, not an error page)."""
    sort = args.get("sort", "").strip()
    if sort.lstrip("-") not in spec.sort_keys:
        sort = spec.default_sort
    return ListQuery(q=args.get("q", "").strip()[:200], sort=sort,
                     page=_positive_int(args.get("page"), 1, 10**9),
                     per_page=_positive_int(args.get("per_page"), DEFAULT_PER_PAGE,
                                            MAX_PER_PAGE))


def sort_link(query: ListQuery, column: Column) -> tuple[str, str | None]:
    """(the sort value a click on the heading asks for, the current direction or None)."""
    assert column.sort is not None
    if query.sort == column.sort:
        return f"-{column.sort}", "ascending"
    if query.sort == f"-{column.sort}":
        return column.sort, "descending"
    return column.sort, None


def visible_columns(session: Session, user_id: int, spec: ListSpec) -> list[str]:
    """The user's remembered columns (in the spec's order), else the default set."""
    pref = session.get(UserPreference, (user_id, spec.preference_key))
    keys = spec.column_keys()
    always = {c.key for c in spec.columns if c.always}
    if pref is not None and isinstance(pref.value, list):
        chosen = {k for k in pref.value if isinstance(k, str)}
        return [k for k in keys if k in chosen or k in always]
    return [k for k in keys if k not in spec.hidden_by_default]


def save_columns(session: Session, user_id: int, spec: ListSpec, columns: Any) -> list[str]:
    """Remember the user's column choice; unknown keys are refused with ValueError."""
    if not isinstance(columns, list) or not all(isinstance(k, str) for k in columns):
        raise ValueError("columns must be a list of column names")
    unknown = sorted(set(columns) - set(spec.column_keys()))
    if unknown:
        raise ValueError(f"unknown columns: {', '.join(unknown)}")
    always = {c.key for c in spec.columns if c.always}
    chosen = [k for k in spec.column_keys() if k in columns or k in always]
    pref = session.get(UserPreference, (user_id, spec.preference_key))
    if pref is None:
        session.add(UserPreference(user_id=user_id, key=spec.preference_key, value=chosen))
    else:
        pref.value = chosen
    session.flush()
    return chosen


def _csv_safe(value: Any) -> str:
    """Cell text that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "@", "\t", "\r") or (
            text[:1] == "-" and not text[1:].replace(".", "", 1).isdigit()):
        return "'" + text
    return text


def csv_rows(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_csv_safe(v) for v in row])
        yield buffer.getvalue()


def paged_rows(fetch: Callable[[int], tuple[list[dict[str, Any]], int]],
               keys: Sequence[str]) -> Iterator[list[Any]]:
    """Every row of every page: ``fetch(page)`` answers (rows of that page, page count)."""
    page, pages = 1, 1
    while page <= pages:
        rows, pages = fetch(page)
        for row in rows:
            yield [row.get(k) for k in keys]
        page += 1


def csv_response(filename: str, header: Sequence[str],
                 rows: Iterable[Sequence[Any]]) -> Response:
    """A streamed CSV download (the request context lives while it streams)."""
    body = stream_with_context(csv_rows(header, rows))
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


def per_page_choices(current: int) -> list[int]:
    return sorted(set(PER_PAGE_CHOICES) | {current})


def list_url(endpoint: str, query: ListQuery, **changes: Any) -> str:
    """The URL of this list with some of q, sort, page, per_page changed (defaults left out)."""
    args: dict[str, Any] = {"q": query.q, "sort": query.sort, "page": query.page,
                            "per_page": query.per_page} | changes
    if not args["q"]:
        del args["q"]
    if args["page"] == 1:
        del args["page"]
    if args["per_page"] == DEFAULT_PER_PAGE:
        del args["per_page"]
    return url_for(endpoint, **args)
