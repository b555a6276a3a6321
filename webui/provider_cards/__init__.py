"""Provider rate card pages of the web admin: list, add/edit/delete, the detail tabs
(Main, Revisions, Rates, Upload) and the upload wizard.

Every view calls the rate card services (orchestrator/ratecards/), the same
functions the REST API and the CLI call.
"""

from webui.provider_cards import detail, drafts, forms, listing, revisions, upload
from webui.provider_cards.common import bp

__all__ = ["bp", "detail", "drafts", "forms", "listing", "revisions", "upload"]
