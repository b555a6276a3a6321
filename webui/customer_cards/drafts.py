"""Editing a draft revision of a customer card (add, edit, delete a rate; Transform):
the same pages as provider cards (``webui/provider_cards/drafts.py``)."""

from __future__ import annotations

from typing import Any

from orchestrator.actor import Actor
from orchestrator.ratecards import customer_cards
from orchestrator.ratecards.revisions import Card
from webui.customer_cards.common import bp, require_write
from webui.db import db
from webui.provider_cards.drafts import Kind, register


def _customer_card(who: Actor, card_id: int) -> Card:
    return customer_cards.get_customer_card(db(), who, card_id)


def _customer_dict(card: Card) -> dict[str, Any]:
    return customer_cards.to_dict(card)  # type: ignore[arg-type]


CUSTOMER = Kind(endpoint="customer_cards", base="/customer-cards", label="customer card",
                load=_customer_card, to_dict=_customer_dict, write=require_write)
register(bp, CUSTOMER)
