"""Real Kamailio + rtpengine on free loopback ports, for integration and web tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestrator.compile.configs import write_configs
from orchestrator.settings import Settings
from orchestrator.stack.daemons import start_kamailio, start_rtpengine
from orchestrator.stack.processes import ManagedProcess
from tests.support.ports import free_port, rtp_range

# rtpengine relays media on its own loopback address in tests, so that a test can
# tell rtpengine's SDP from the SIPp endpoints' SDP (all on 127.0.0.1).
TEST_MEDIA_IP = "127.0.0.3"


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
        "kamailio_shm_mb": 64,
        "kamailio_children": 2,
        "test_destination": f"127.0.0.1:{free_port()}",
        "secret_key": "test-secret-key",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@dataclass
class Dataplane:
    settings: Settings
    kamailio: ManagedProcess
    rtpengine: ManagedProcess

    @property
    def destination_port(self) -> int:
        return int(self.settings.test_destination.rpartition(":")[2])

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
