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

    `dataplane.settings` carries their ports, the media zones "dead" (nobody answers)
    and "zone2" (a second rtpengine, `dataplane.zones["zone2"]`) and a 3 s RTP
    timeout; tests build their model with `dataplane.world()` and `dataplane.apply()` it.
    """
    from tests.support.dataplane import ZONE2_MEDIA_IP, session_settings, start_dataplane

    plane = start_dataplane(session_settings(tmp_path_factory.mktemp("dataplane")),
                            zones={"zone2": ZONE2_MEDIA_IP})
    try:
        yield plane
    finally:
        plane.stop()
