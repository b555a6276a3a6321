"""Verification pages of the web admin (docs/verification.md).

- ``notification_menu()``: the bell of every page (base.html): what the signed-in user's
  own account still needs verified, and how many customers await verification (one
  COUNT per page).
- ``routes``: the customer verification panel's actions, the account's, and the
  notifications page.
"""

from webui.verification import routes
from webui.verification.common import bp

__all__ = ["bp", "routes"]
