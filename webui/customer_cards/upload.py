"""The upload wizard of an EXTERNAL customer card (its rates come from a file, not from
a build): the same pages as provider cards (``webui/provider_cards/upload.py``).
A built card is refused with 409: its rates come from its parents."""

from __future__ import annotations

from flask import abort

from orchestrator.ratecards.models import CustomerCard
from orchestrator.ratecards.revisions import Card
from webui.customer_cards.common import bp
from webui.customer_cards.detail import render_detail
from webui.customer_cards.drafts import CUSTOMER
from webui.provider_cards.upload import UploadKind, register

NOT_EXTERNAL = ("This customer card is built from its parents: its rates come from a "
                "build. Only an external card takes uploaded rates (Edit: External).")


def require_external(card: Card) -> None:
    """409 unless the card is an external customer card."""
    if not (isinstance(card, CustomerCard) and card.external):
        abort(409, NOT_EXTERNAL)


CUSTOMER_UPLOAD = UploadKind(cards=CUSTOMER, import_kind="customer",
                             list_label="Customer cards", render_detail=render_detail,
                             check=require_external)
register(bp, CUSTOMER_UPLOAD)
