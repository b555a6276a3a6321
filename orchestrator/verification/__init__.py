"""Email and mobile verification of customers and operator accounts (PRODUCT.md §4).

- ``models``: ``VerificationCode`` (hashed codes with expiry and attempts).
- ``subjects``: who is verified (a customer, or a user's own account) and who may.
- ``codes``: send a code, check a code, reset, state (the service; web, API and CLI
  call it). A wrong code is returned, not raised: commit, then ``raise_error()``.
- ``pending``: what still needs verifying (the notification menu, /notifications).
- ``account``: a user's own email and mobile.
"""
