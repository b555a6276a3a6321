"""The customers list: search, sort, pages, column chooser and CSV export."""

from __future__ import annotations

from typing import Any

from orchestrator.customers import service, views
from orchestrator.listing import ListQuery
from webui.customers.common import LIST, actor, bp
from webui.db import db
from webui.list_views import register_list_views


def _fetch(query: ListQuery) -> tuple[list[dict[str, Any]], int, int]:
    """(rows with balance, total, page count) of this query."""
    page = service.list_customers(db(), actor(), query)
    return views.customer_rows(db(), page.items), page.total, page.pages


register_list_views(bp, "customers", LIST, _fetch, actor)
