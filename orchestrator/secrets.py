"""Secrets at rest (carrier portal passwords, later SMTP/SMS credentials).

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under the key that
``Settings.fernet_key()`` gives: the ``encryption_key`` setting, else a key generated
once into ``var_dir/encryption_key``. Back that key up with the database: without it
the stored secrets cannot be read.

The setting may hold several comma-separated keys for rotation: the first encrypts,
every one of them is tried to decrypt.

Which settings give the key: by default ``Settings()`` (environment and TOML file),
read at each call. An application built around its own ``Settings`` object (the web
admin, tests) calls ``configure(settings)`` once.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import ValidationError

from orchestrator.settings import Settings

_KEY_HELP = ("setting encryption_key (ORCHESTRATOR_ENCRYPTION_KEY) or the file "
             "var_dir/encryption_key")


class SecretKeyError(RuntimeError):
    """The encryption key is unusable, or a stored secret was encrypted with another key.

    A configuration problem of the server, not bad client input; the message says what
    to do and never contains the key or the secret.
    """


_key_source: Callable[[], str] | None = None


def configure(source: Settings | str | None) -> None:
    """Use these settings' key (or this literal key) from now on; None: back to default."""
    global _key_source
    if source is None:
        _key_source = None
    elif isinstance(source, Settings):
        _key_source = source.fernet_key
    else:
        key = source
        _key_source = lambda: key  # noqa: E731


def _current_key() -> str:
    try:
        if _key_source is not None:
            return _key_source()
        return Settings().fernet_key()
    except OSError as exc:
        raise SecretKeyError(f"cannot read the encryption key ({_KEY_HELP}): "
                             f"{exc.strerror or exc}") from exc
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
        raise SecretKeyError(f"the settings are invalid ({fields}), so the encryption key "
                             "cannot be read") from exc


@lru_cache(maxsize=8)
def _fernet(key: str) -> MultiFernet:
    keys = [k.strip() for k in key.split(",") if k.strip()]
    if not keys:
        raise SecretKeyError(f"no encryption key is configured ({_KEY_HELP})")
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except (ValueError, TypeError):
        raise SecretKeyError(
            f"the encryption key is not a valid Fernet key ({_KEY_HELP}): expected 32 "
            "url-safe base64-encoded bytes, as made by "
            "`python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'`") from None


def encrypt(plain: str, *, key: str | None = None) -> str:
    """The Fernet token (ASCII text) of ``plain``; the empty string stays empty."""
    if plain == "":
        return ""
    return _fernet(key if key is not None else _current_key()).encrypt(
        plain.encode("utf-8")).decode("ascii")


def decrypt(token: str, *, key: str | None = None) -> str:
    """The clear text of a token made by ``encrypt``; the empty string stays empty."""
    if token == "":
        return ""
    try:
        return _fernet(key if key is not None else _current_key()).decrypt(
            token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise SecretKeyError(
            "a stored secret cannot be decrypted: it was encrypted with another key or "
            f"is damaged. Restore the original key ({_KEY_HELP}) from the backup, or set "
            "the secret again") from None
