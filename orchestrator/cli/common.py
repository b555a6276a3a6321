"""Shared helpers of the CLI commands."""

from __future__ import annotations

import click
from pydantic import ValidationError

from orchestrator.settings import Settings


def load_settings() -> Settings:
    """The settings, or a clear CLI error naming the bad field."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = [f"  {'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}"
                 for e in exc.errors()]
        raise click.ClickException("invalid settings:\n" + "\n".join(lines)) from exc
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
