"""Carrier pages of the web admin: list, add/edit/delete, and the detail tabs.

Every view calls the carriers service layer (orchestrator/carriers/), the same
functions the REST API and the CLI call.
"""

from webui.carriers import detail, forms, listing
from webui.carriers.common import bp

__all__ = ["bp", "detail", "forms", "listing"]
