"""Render kamailio.cfg and rtpengine.conf from the settings with Jinja2, and check them."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import jinja2

from orchestrator.settings import Settings
from orchestrator.switch.tablefile import ensure_table_file

MODULE_DIRS = (
    Path("/usr/lib/x86_64-linux-gnu/kamailio/modules"),
    Path("/usr/lib/aarch64-linux-gnu/kamailio/modules"),
    Path("/usr/lib/kamailio/modules"),
    Path("/usr/local/lib64/kamailio/modules"),
)


class ConfigError(RuntimeError):
    """A rendered configuration that the daemon refuses; the message has its output."""


@dataclass(frozen=True)
class RenderedConfigs:
    kamailio_cfg: Path
    rtpengine_conf: Path


def kamailio_modules_dir() -> Path:
    for path in MODULE_DIRS:
        if (path / "tm.so").is_file():
            return path
    raise ConfigError(
        "Kamailio modules not found in " + ", ".join(map(str, MODULE_DIRS))
        + ": install the kamailio packages (make run does it)"
    )


def _environment(settings: Settings) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(settings.templates_dir)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render_kamailio(settings: Settings) -> str:
    template = _environment(settings).get_template("kamailio/kamailio.cfg.j2")
    return template.render(s=settings, modules_dir=kamailio_modules_dir())


def render_rtpengine(settings: Settings) -> str:
    template = _environment(settings).get_template("rtpengine/rtpengine.conf.j2")
    return template.render(s=settings)


def check_kamailio(settings: Settings, cfg: Path) -> None:
    """Run ``kamailio -c`` on a rendered file; raise ConfigError with its output."""
    proc = subprocess.run(
        [settings.kamailio_binary, "-c", "-f", str(cfg)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    if proc.returncode != 0:
        raise ConfigError(f"kamailio -c refused {cfg}:\n{proc.stdout}{proc.stderr}")


def write_configs(settings: Settings, check: bool = True) -> RenderedConfigs:
    """Render both configs into settings.config_dir (Kamailio's checked first), and
    create the switch table file Kamailio's modules load from if it is missing."""
    settings.ensure_dirs()
    ensure_table_file(settings.switch_db)
    kamailio_cfg = settings.config_dir / "kamailio.cfg"
    rtpengine_conf = settings.config_dir / "rtpengine.conf"
    staged = kamailio_cfg.with_suffix(".cfg.new")
    staged.write_text(render_kamailio(settings))
    if check:
        try:
            check_kamailio(settings, staged)
        except ConfigError:
            staged.unlink(missing_ok=True)
            raise
    staged.replace(kamailio_cfg)
    rtpengine_conf.write_text(render_rtpengine(settings))
    return RenderedConfigs(kamailio_cfg, rtpengine_conf)
