"""Background jobs of billing, imported by the worker (``load_task_modules``)."""

from __future__ import annotations

from orchestrator.billing import rerating  # noqa: F401  (job billing.rerate)
