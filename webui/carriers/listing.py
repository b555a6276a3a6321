"""The carriers list: search, sort, pages, column chooser and CSV export."""

from __future__ import annotations

from typing import Any

from orchestrator.carriers import service
from orchestrator.listing import ListQuery
from webui.carriers.common import LIST, actor, bp, carrier_row
from webui.db import db
from webui.list_views import register_list_views


def _fetch(query: ListQuery) -> tuple[list[dict[str, Any]], int, int]:
    """(rows with balance, total, page count) of this query."""
    page = service.list_carriers(db(), actor(), query)
    return [carrier_row(db(), c) for c in page.items], page.total, page.pages


register_list_views(bp, "carriers", LIST, _fetch, actor)
