"""Customers: who buys termination from the operator (PRODUCT.md §1 "Customer")."""
