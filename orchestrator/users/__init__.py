"""Admin users of the control plane (web admin, API, CLI)."""
