"""Secrets at rest: Fernet round trip, key rotation, clear errors for bad keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from orchestrator import secrets
from orchestrator.settings import Settings


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    secrets.configure(None)
    yield
    secrets.configure(None)


def test_round_trip_and_token_is_not_the_clear_text() -> None:
    key = Fernet.generate_key().decode()
    token = secrets.encrypt("hunter2 ümlaut", key=key)
    assert "hunter2" not in token and token.startswith("gAAAA")
    assert secrets.decrypt(token, key=key) == "hunter2 ümlaut"
    assert secrets.encrypt("", key=key) == "" and secrets.decrypt("", key=key) == ""
    assert secrets.encrypt("x", key=key) != secrets.encrypt("x", key=key)  # random IV


def test_wrong_key_gives_a_clear_error_without_the_secret() -> None:
    token = secrets.encrypt("hunter2", key=Fernet.generate_key().decode())
    with pytest.raises(secrets.SecretKeyError, match="encrypted with another key") as info:
        secrets.decrypt(token, key=Fernet.generate_key().decode())
    assert "hunter2" not in str(info.value)


def test_malformed_key_is_named_not_echoed() -> None:
    with pytest.raises(secrets.SecretKeyError, match="not a valid Fernet key") as info:
        secrets.encrypt("x", key="not-a-key-at-all")
    assert "not-a-key-at-all" not in str(info.value)
    with pytest.raises(secrets.SecretKeyError, match="no encryption key"):
        secrets.encrypt("x", key=" , ")


def test_rotation_first_key_encrypts_all_keys_decrypt() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    legacy = secrets.encrypt("pw", key=old)
    assert secrets.decrypt(legacy, key=f"{new},{old}") == "pw"
    fresh = secrets.encrypt("pw", key=f"{new},{old}")
    assert secrets.decrypt(fresh, key=new) == "pw"


def test_key_comes_from_configured_settings_or_generated_file(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.delenv("ORCHESTRATOR_ENCRYPTION_KEY", raising=False)
    settings = Settings(var_dir=tmp_path)
    secrets.configure(settings)
    token = secrets.encrypt("pw")
    key_file = tmp_path / "encryption_key"
    assert key_file.is_file() and (key_file.stat().st_mode & 0o777) == 0o600
    assert secrets.decrypt(token, key=key_file.read_text().strip()) == "pw"
    # The key file lost (restored database without its key): a clear error, no crash.
    key_file.unlink()
    with pytest.raises(secrets.SecretKeyError, match="Restore the original key"):
        secrets.decrypt(token)


def test_default_source_reads_the_environment(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("ORCHESTRATOR_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("ORCHESTRATOR_ENCRYPTION_KEY", key)
    assert secrets.decrypt(secrets.encrypt("pw"), key=key) == "pw"
    monkeypatch.setenv("ORCHESTRATOR_ENCRYPTION_KEY", "garbage")
    with pytest.raises(secrets.SecretKeyError, match="ORCHESTRATOR_ENCRYPTION_KEY"):
        secrets.encrypt("pw")


def test_invalid_settings_or_unreadable_key_file_are_clear(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    monkeypatch.setenv("ORCHESTRATOR_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("ORCHESTRATOR_ENCRYPTION_KEY", raising=False)
    monkeypatch.setenv("ORCHESTRATOR_SIP_PORT", "nope")
    with pytest.raises(secrets.SecretKeyError, match="settings are invalid \\(sip_port\\)"):
        secrets.encrypt("pw")
    monkeypatch.delenv("ORCHESTRATOR_SIP_PORT")
    (tmp_path / "encryption_key").mkdir()  # a directory where the key file should be
    with pytest.raises(secrets.SecretKeyError, match="cannot read the encryption key"):
        secrets.encrypt("pw")
