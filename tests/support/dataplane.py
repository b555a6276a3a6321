"""Real Kamailio + rtpengine on free loopback ports, for integration and web tests.

The data plane routes with the switch data of its own model database (in its var
dir): a test builds customers, carriers and routes with ``plane.world()``, commits,
then ``plane.apply()`` compiles the whole model and applies it exactly as the
``switch.apply`` job does.  Each test customer calls from its own loopback address
(``plane.source_ip()``), so tests sharing the data plane cannot see each other's calls.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from orchestrator.compile.compiler import compile_snapshot
from orchestrator.compile.configs import write_configs
from orchestrator.compile.snapshot import Snapshot
from orchestrator.compile.tariffs import tariff_rows
from orchestrator.db import make_engine, session_factory, upgrade
from orchestrator.settings import Settings
from orchestrator.stack.daemons import start_kamailio, start_rtpengine
from orchestrator.stack.processes import ManagedProcess
from orchestrator.switch.apply import apply_local
from tests.support.ports import free_port, rtp_range
from tests.support.switch_world import World

# rtpengine relays media on its own loopback address in tests, so that a test can
# tell rtpengine's SDP from the SIPp endpoints' SDP (all on 127.0.0.1).
TEST_MEDIA_IP = "127.0.0.3"

# Customers' source addresses: 127.0.1.1, 127.0.1.2, ... one per source_ip() call.
_sources = (f"127.0.{n // 250 + 1}.{n % 250 + 1}" for n in itertools.count())


def test_settings(var_dir: Path, **overrides: object) -> Settings:
    """Settings for a private data plane in var_dir: every port free and unique."""
    rtp_min, rtp_max = rtp_range()
    values: dict[str, object] = {
        "var_dir": var_dir,
        "sip_port": free_port(),
        "rpc_port": free_port(),
        "rtpengine_ng_port": free_port(),
        "web_port": free_port(),
        "media_ip": TEST_MEDIA_IP,
        "rtp_port_min": rtp_min,
        "rtp_port_max": rtp_max,
        "kamailio_shm_mb": 512,
        "kamailio_children": 2,
        "secret_key": "test-secret-key",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@dataclass
class Dataplane:
    settings: Settings
    kamailio: ManagedProcess
    rtpengine: ManagedProcess
    _sessions: sessionmaker[Session] | None = field(default=None, repr=False)

    @property
    def target(self) -> str:
        """host:port a customer's SIPp sends its INVITEs to."""
        return f"{self.settings.sip_ip}:{self.settings.sip_port}"

    @property
    def sessions(self) -> sessionmaker[Session]:
        if self._sessions is None:
            upgrade(self.settings.db_url)
            self._sessions = session_factory(make_engine(self.settings.db_url))
        return self._sessions

    def world(self) -> World:
        return World(self.sessions, self.settings)

    @staticmethod
    def source_ip() -> str:
        """A loopback address no other test customer calls from."""
        return next(_sources)

    def apply(self) -> Snapshot:
        """Compile the model and apply it to this Kamailio (raises when it fails)."""
        with self.sessions() as session:
            snapshot = compile_snapshot(session, self.settings)
            report = apply_local(
                self.settings, snapshot,
                lambda ref: tariff_rows(session, ref, self.settings.base_currency),
                who="tests")
        report.raise_for_errors()
        return snapshot

    def restart_kamailio(self) -> None:
        """Stop Kamailio and start it again on the same config and table file."""
        self.kamailio.stop()
        self.kamailio = start_kamailio(self.settings, self.settings.config_dir / "kamailio.cfg")

    def stop(self) -> None:
        self.kamailio.stop()
        self.rtpengine.stop()


def start_dataplane(settings: Settings) -> Dataplane:
    configs = write_configs(settings)
    rtpengine = start_rtpengine(settings, configs.rtpengine_conf)
    try:
        kamailio = start_kamailio(settings, configs.kamailio_cfg)
    except Exception:
        rtpengine.stop()
        raise
    return Dataplane(settings, kamailio, rtpengine)
