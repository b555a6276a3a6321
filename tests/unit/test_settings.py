"""Settings: environment, TOML file, validation with the field named."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from orchestrator.settings import Settings


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_SIP_PORT", "5070")
    monkeypatch.setenv("ORCHESTRATOR_MEDIA_ZONES", '{"eu": "udp:10.0.0.5:2223"}')
    settings = Settings()
    assert settings.sip_port == 5070
    assert settings.media_zones == {"eu": "udp:10.0.0.5:2223"}
    assert settings.media_zone_sets() == {"auto": 0, "eu": 1}


def test_toml_file_and_env_priority(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "o.toml"
    toml.write_text('web_port = 9090\nrpc_port = 6001\nkamailio_shm_mb = 512\n')
    monkeypatch.setenv("ORCHESTRATOR_CONFIG", str(toml))
    monkeypatch.setenv("ORCHESTRATOR_RPC_PORT", "6002")
    settings = Settings()
    assert (settings.web_port, settings.kamailio_shm_mb) == (9090, 512)
    assert settings.rpc_port == 6002  # environment beats the file


def test_missing_toml_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(FileNotFoundError, match=r"nope\.toml"):
        Settings()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sip_port", 70000, "less than or equal to 65535"),
        ("sip_ip", "not-an-ip", "does not appear to be an IPv4 or IPv6 address"),
        ("media_zones", {"auto": "udp:10.0.0.5:2223"}, "not auto or direct"),
        ("media_zones", {"eu": "10.0.0.5"}, "ng sockets like udp:10.0.0.5:2223"),
        ("kamailio_shm_mb", 8, "greater than or equal to 64"),
        ("no_such_setting", 1, "Extra inputs are not permitted"),
    ],
)
def test_bad_values_name_the_field(field: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        Settings(**{field: value})  # type: ignore[arg-type]
    (error,) = info.value.errors()
    assert error["loc"][0] == field
    assert message in str(info.value)


def test_inconsistent_ports_refused() -> None:
    with pytest.raises(ValidationError, match="sip_port and rpc_port must differ"):
        Settings(sip_port=6000, rpc_port=6000)
    with pytest.raises(ValidationError, match="rtp_port_min must be below rtp_port_max"):
        Settings(rtp_port_min=40000, rtp_port_max=30000)


def test_secret_key_generated_once_and_private(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    first = settings.flask_secret()
    assert len(first) >= 40
    assert Settings(var_dir=tmp_path).flask_secret() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_cdr_path_moves_the_cdr_files(tmp_path: Path) -> None:
    assert Settings(var_dir=tmp_path).cdr_dir == tmp_path / "cdrs"
    assert Settings(var_dir=tmp_path, cdr_path="/dev/shm/x-cdrs").cdr_dir == Path(
        "/dev/shm/x-cdrs")
