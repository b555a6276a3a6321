"""The provider cards list: search, sort, pages, column chooser and CSV export."""

from __future__ import annotations

from typing import Any

from orchestrator.listing import ListQuery
from orchestrator.ratecards import provider_cards as service
from webui.db import db
from webui.list_views import register_list_views
from webui.provider_cards.common import LIST, actor, bp, card_rows


def _fetch(query: ListQuery) -> tuple[list[dict[str, Any]], int, int]:
    """(rows with carrier and active revision, total, page count) of this query."""
    page = service.list_provider_cards(db(), actor(), query)
    return card_rows(db(), list(page.items)), page.total, page.pages


register_list_views(bp, "provider_cards", LIST, _fetch, actor)
