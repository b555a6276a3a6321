"""Rendered Kamailio configs are accepted by `kamailio -c`; broken ones are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.compile.configs import ConfigError, render_kamailio, write_configs
from orchestrator.settings import Settings


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"media_zones": {"eu": "udp:10.0.0.5:2223", "us": "udp:10.0.1.5:2223 udp:10.0.1.6:2223"}},
        {"sip_port": 5080, "rpc_port": 5091, "kamailio_children": 1, "sip_realm": "voip.example"},
        {"topology_hiding": False},
        {"cdrs": False},
    ],
    ids=["defaults", "media-zones", "custom", "no-topology-hiding", "no-cdrs"],
)
def test_every_render_passes_kamailio_check(tmp_path: Path, overrides: dict[str, object]) -> None:
    settings = Settings(var_dir=tmp_path, **overrides)  # type: ignore[arg-type]
    out = write_configs(settings)  # runs kamailio -c
    text = out.kamailio_cfg.read_text()
    assert f"listen=udp:{settings.sip_ip}:{settings.sip_port}" in text
    assert f"listen=tcp:127.0.0.1:{settings.rpc_port}" in text
    # every module reads the switch table file, which exists before Kamailio starts
    assert text.count(f'"sqlite:///{settings.switch_db}"') == 1
    # CDRs: acc into flat files, only when on
    assert (f'"flatstore:{settings.cdr_dir}"' in text) == settings.cdrs
    assert ('acc_db_request("cdr", "cdrs")' in text) == settings.cdrs
    assert settings.switch_db.is_file()
    assert f'auth_challenge("{settings.sip_realm}", "1")' in text
    # set 0 is the local rtpengine, then one rtpengine set per media zone
    assert f'"0 == udp:127.0.0.1:{settings.rtpengine_ng_port}"' in text
    for name, set_id in settings.media_zone_sets().items():
        if name != "auto":
            assert f'"{set_id} == {settings.media_zones[name]}"' in text
    # topology hiding: topoh with the node-independent key, or nothing of it
    assert ('loadmodule "topoh.so"' in text) == settings.topology_hiding
    assert (f'"mask_key", "{settings.topology_key()}"' in text) == settings.topology_hiding
    conf = out.rtpengine_conf.read_text()
    assert f"listen-ng = 127.0.0.1:{settings.rtpengine_ng_port}" in conf
    assert f"interface = {settings.media_ip}" in conf


def test_render_is_deterministic(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    assert render_kamailio(settings) == render_kamailio(settings)


def test_broken_template_is_refused_and_keeps_the_previous_config(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    (templates / "kamailio").mkdir(parents=True)
    (templates / "rtpengine").mkdir()
    real = Path(__file__).resolve().parents[2] / "templates"
    good = (real / "kamailio" / "kamailio.cfg.j2").read_text()
    for part in (real / "kamailio").glob("*.j2"):   # the main file and its includes
        (templates / "kamailio" / part.name).write_text(part.read_text())
    (templates / "rtpengine" / "rtpengine.conf.j2").write_text(
        (real / "rtpengine" / "rtpengine.conf.j2").read_text())
    settings = Settings(var_dir=tmp_path / "var", templates_dir=templates)
    first = write_configs(settings).kamailio_cfg.read_text()

    (templates / "kamailio" / "kamailio.cfg.j2").write_text(
        good.replace("route[RELAY] {", "route[RELAY] { this is not kamailio;"))
    with pytest.raises(ConfigError, match="parse error"):
        write_configs(settings)
    assert (settings.config_dir / "kamailio.cfg").read_text() == first
    assert not (settings.config_dir / "kamailio.cfg.new").exists()
