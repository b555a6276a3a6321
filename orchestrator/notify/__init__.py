"""Notifications to customers: email (``email.py``, a minimal sender for now)."""
