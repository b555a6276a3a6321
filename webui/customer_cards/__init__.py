"""Customer rate card pages of the web admin: list, add/edit/delete with parents, and
the detail tabs (main + build, profit rules, revisions, rates, changes, routing, and
upload for external cards).

Every view calls the rate card service layer (orchestrator/ratecards/), the same
functions the REST API and the CLI call.
"""

from webui.customer_cards import detail, drafts, forms, listing, revisions, rules, upload
from webui.customer_cards import email as card_email
from webui.customer_cards.common import bp

__all__ = ["bp", "card_email", "detail", "drafts", "forms", "listing", "revisions", "rules",
           "upload"]
