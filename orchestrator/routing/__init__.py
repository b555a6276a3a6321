"""Ingress routing: a customer's ingress routes (tariff, tech prefix, dial string, limits)."""
