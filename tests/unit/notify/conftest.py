"""The notification world of every test here (tests/unit/notify/world.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.notify.world import World, make_world, migrated


@pytest.fixture(scope="session")
def notify_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated(tmp_path_factory.mktemp("notify-template") / "orchestrator.db")


@pytest.fixture
def world(notify_template: Path, tmp_path: Path) -> Iterator[World]:
    yield from make_world(notify_template, tmp_path)
