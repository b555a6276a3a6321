"""CDR pages of the web admin: the CDR search (filters, keyset pages, CSV export, one
CDR) and the statistics page (table and charts over time).

Every view calls orchestrator/billing/search.py, cdr_export.py and stats.py, the
functions the REST API and the CLI call; any signed-in role may use them.
"""

from webui.cdrs import search_views, stats_views
from webui.cdrs.common import bp

__all__ = ["bp", "search_views", "stats_views"]
