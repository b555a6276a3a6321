"""Real Kamailio + rtpengine on free loopback ports, for integration and web tests.

The data plane routes with the switch data of its own model database (in its var
dir): a test builds customers, carriers and routes with ``plane.world()``, commits,
then ``plane.apply()`` compiles the whole model and applies it exactly as the
``switch.apply`` job does.  Each test customer calls from its own loopback address
(``plane.source_ip()``), so tests sharing the data plane cannot see each other's calls.

The session data plane (``session_settings``) has two media zones: ``dead`` (an ng port
nobody listens on: the media proxy is down) and ``zone2`` (a second rtpengine on
127.0.0.4 that media tests start and stop with ``start_zone_rtpengine``), and a short
RTP timeout (``SESSION_RTP_TIMEOUT``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from orchestrator.compile.compiler import compile_snapshot
from orchestrator.compile.configs import render_rtpengine, write_configs
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
# The second rtpengine's media address (media zone "zone2").
ZONE2_MEDIA_IP = "127.0.0.4"
# rtp_timeout of the session data plane, seconds: short, so that RTP timeout tests
# are quick; routes without rtp_timeout are not affected (kamailio.cfg RTP_TIMEOUT_RPC).
SESSION_RTP_TIMEOUT = 3

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
        "dtmf_port": free_port(),
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


def session_settings(var_dir: Path) -> Settings:
    """test_settings plus the media zones and RTP timeout of the session data plane."""
    zones = {"dead": f"udp:127.0.0.1:{free_port()}", "zone2": f"udp:127.0.0.1:{free_port()}"}
    return test_settings(var_dir, media_zones=zones, rtp_timeout=SESSION_RTP_TIMEOUT)


@dataclass
class Dataplane:
    settings: Settings
    kamailio: ManagedProcess
    rtpengine: ManagedProcess
    zones: dict[str, Settings] = field(default_factory=dict)  # media zones started
    zone_processes: list[ManagedProcess] = field(default_factory=list, repr=False)
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
        for proc in self.zone_processes:
            proc.stop()


def start_zone_rtpengine(settings: Settings, zone: str,
                         media_ip: str) -> tuple[ManagedProcess, Settings]:
    """Start the rtpengine of media zone ``zone`` of a data plane's ``settings`` on the
    zone's ng port, relaying on ``media_ip`` with its own RTP range (pid, log and
    config in var_dir/zone-<zone>); returns it with its own settings.

    Start it before Kamailio (start_dataplane does): Kamailio's rtpengine module talks
    to each rtpengine over a connected UDP socket per process, and a command that got
    "port unreachable" (nothing listening yet) leaves an error pending on that socket,
    so the next command of that process fails too, and the failure disables the
    rtpengine for rtpengine_disable_tout seconds.
    """
    rtp_min, rtp_max = rtp_range()
    port = int(settings.media_zones[zone].split()[0].rsplit(":", 1)[1])
    own = settings.with_overrides(
        var_dir=settings.var_dir / f"zone-{zone}", media_ip=media_ip,
        rtpengine_ng_port=port, rtp_port_min=rtp_min, rtp_port_max=rtp_max, media_zones={})
    own.ensure_dirs()
    conf = own.config_dir / "rtpengine.conf"
    conf.write_text(render_rtpengine(own))
    return start_rtpengine(own, conf), own


def start_dataplane(settings: Settings, zones: dict[str, str] | None = None) -> Dataplane:
    """rtpengine, the rtpengines of ``zones`` (media zone -> media IP), then Kamailio."""
    configs = write_configs(settings)
    started: list[ManagedProcess] = []
    try:
        rtpengine = start_rtpengine(settings, configs.rtpengine_conf)
        started.append(rtpengine)
        zone_settings = {}
        for zone, media_ip in (zones or {}).items():
            proc, zone_settings[zone] = start_zone_rtpengine(settings, zone, media_ip)
            started.append(proc)
        kamailio = start_kamailio(settings, configs.kamailio_cfg)
    except Exception:
        for proc in reversed(started):
            proc.stop()
        raise
    return Dataplane(settings, kamailio, rtpengine, zones=zone_settings,
                     zone_processes=started[1:])
