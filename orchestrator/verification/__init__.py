"""Email and mobile verification of customers and operator accounts (PRODUCT.md §4).

- ``models``: ``VerificationCode`` (hashed codes with expiry and attempts).
- ``codes``: send a code, check a code, reset (the service; web, API and CLI call it).
"""
