"""Compile the model into what the data plane runs: rendered configs (and, later, data)."""
