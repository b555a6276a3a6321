"""Billing: what a call costs (rating), balances and credit control (PRODUCT.md §3)."""
