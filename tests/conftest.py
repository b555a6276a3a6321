"""Fixtures shared by every test: the real data plane, started once per session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.support.dataplane import Dataplane


@pytest.fixture(scope="session")
def dataplane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dataplane]:
    """Kamailio and rtpengine on free loopback ports, stopped by pid at the end.

    `dataplane.settings` carries their ports; the test destination (a SIPp UAS
    started by the test) is `dataplane.destination_port` on 127.0.0.1.
    """
    from tests.support.dataplane import start_dataplane, test_settings

    plane = start_dataplane(test_settings(tmp_path_factory.mktemp("dataplane")))
    try:
        yield plane
    finally:
        plane.stop()
