"""Customer pages of the web admin: list, add/edit/delete, the detail tabs and the CSV
import wizard.

Every view calls the customers service layer (orchestrator/customers/), the same
functions the REST API and the CLI call.
"""

from webui.customers import balance, detail, forms, importer, listing, routes
from webui.customers.common import bp

__all__ = ["balance", "bp", "detail", "forms", "importer", "listing", "routes"]
