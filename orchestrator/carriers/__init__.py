"""Carriers: who sells termination to the operator (PRODUCT.md §1 "Carrier")."""
