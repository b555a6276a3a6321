"""Customer pages of the web admin: list, add/edit/delete, and the detail tabs.

Every view calls the customers service layer (orchestrator/customers/), the same
functions the REST API and the CLI call.
"""

from webui.customers import detail, forms, listing
from webui.customers.common import bp

__all__ = ["bp", "detail", "forms", "listing"]
