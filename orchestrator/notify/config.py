"""Settings an admin edits at run time: SMTP, SMS gateway, verification policy.

Each group is one ``stored_settings`` row (JSON). Secrets (the SMTP password, the SMS
gateway password or token) are stored encrypted (orchestrator.secrets) and are
write-only: views say ``password_set`` instead. In an update, a secret that is absent
(or None) is kept, ``""`` clears it.

Before an admin saves the SMTP group, its values come from the file settings
``smtp_host``, ``smtp_port``, ``smtp_from`` (docs/configuration.md), security ``none``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from orchestrator import secrets
from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.customers.validation import (
    BadValue,
    Errors,
    Parser,
    choice,
    clean,
    integer,
    text,
)
from orchestrator.notify.models import StoredSettings
from orchestrator.settings import Settings

C = TypeVar("C", "SmtpConfig", "SmsConfig", "VerificationConfig")
SECURITY = ("none", "starttls", "tls")
SMS_PRESETS = ("custom", "twilio")
SMS_METHODS = ("POST", "GET")
SMS_CONTENT_TYPES = ("form", "json")
SMS_AUTH = ("none", "basic", "bearer")
TEMPLATE_FIELDS = ("to", "text", "from")
_HOSTNAME = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                       r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$|^\[?[0-9a-fA-F:.]+\]?$")


@dataclass(frozen=True)
class SmtpConfig:
    host: str = ""  # empty: email is off (messages fail with "SMTP is not configured")
    port: int = 25
    security: str = "none"  # none | starttls | tls (implicit TLS, usually port 465)
    username: str = ""  # empty: no AUTH
    password: str = ""  # clear text in memory only
    from_address: str = "switch@localhost"
    timeout_seconds: int = 30


@dataclass(frozen=True)
class SmsConfig:
    preset: str = "custom"  # custom | twilio (fills url, method, content type, template)
    url: str = ""  # empty: SMS is off; may hold {to} {text} {from}
    method: str = "POST"
    content_type: str = "form"  # form (application/x-www-form-urlencoded) | json
    body_template: str = "to={to}&text={text}&from={from}"
    auth: str = "none"  # none | basic (username, password) | bearer (password = token)
    username: str = ""
    password: str = ""
    sender: str = ""  # {from}: the sender number or name
    timeout_seconds: int = 15


@dataclass(frozen=True)
class VerificationConfig:
    code_minutes: int = 10  # a code is valid this long
    max_attempts: int = 5  # wrong entries allowed per code
    resend_seconds: int = 60  # a new code no sooner than this after the previous one


TWILIO = {"url": "https://api.twilio.com/2010-04-01/Accounts/YOUR_ACCOUNT_SID/Messages.json",
          "method": "POST", "content_type": "form",
          "body_template": "To={to}&From={from}&Body={text}", "auth": "basic"}


def hostname(value: Any) -> str:
    value = text(255)(value)
    if value and not _HOSTNAME.match(value):
        raise BadValue("must be a host name or IP address, e.g. smtp.example.com")
    return str(value)


def gateway_url(value: Any) -> str:
    """http(s) URL; ``{to}``, ``{text}``, ``{from}`` may appear (URL-encoded when sent)."""
    value = text(1000)(value)
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in value:
        raise BadValue("must be a web address starting with http:// or https://, e.g. "
                       "https://sms.example.com/send")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise BadValue("has an invalid port") from None
    template_fields(value)
    return str(value)


def template_fields(template: str) -> list[str]:
    """The ``{name}`` placeholders of a template; an unknown name is an error. Other
    braces are literal (a JSON body keeps its own)."""
    names = re.findall(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", template)
    bad = [n for n in names if n not in TEMPLATE_FIELDS]
    if bad:
        raise BadValue(f"unknown placeholder {{{bad[0]}}}: use {{to}}, {{text}} and "
                       "{from}")
    return names


def body_template(value: Any) -> str:
    value = text(2000)(value)
    template_fields(str(value))
    return str(value)


_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                      r"[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def sender_address(value: Any) -> str:
    """``name@domain`` (a local domain such as ``localhost`` is fine) or
    ``Display Name <name@domain>``."""
    given = str(text(254, required=True)(value))
    match = re.fullmatch(r'([^<>"]*|"[^"]*")\s*<([^<>\s]+)>', given)
    address = match.group(2) if match else given
    if not _ADDRESS.match(address):
        raise BadValue("must be an email address like switch@example.com, or "
                       "Name <switch@example.com>")
    return given


def secret(value: Any) -> str:
    if not isinstance(value, str):
        raise BadValue("must be text")
    if len(value) > 500:
        raise BadValue("must be at most 500 characters")
    return value  # kept exactly: spaces count


SMTP_SPEC: dict[str, Parser] = {
    "host": hostname, "port": integer(1, 65535), "security": choice(SECURITY),
    "username": text(254), "password": secret, "from_address": sender_address,
    "timeout_seconds": integer(1, 300)}
SMS_SPEC: dict[str, Parser] = {
    "preset": choice(SMS_PRESETS), "url": gateway_url, "method": choice(SMS_METHODS),
    "content_type": choice(SMS_CONTENT_TYPES), "body_template": body_template,
    "auth": choice(SMS_AUTH), "username": text(254), "password": secret,
    "sender": text(32), "timeout_seconds": integer(1, 120)}
VERIFICATION_SPEC: dict[str, Parser] = {
    "code_minutes": integer(1, 1440), "max_attempts": integer(1, 100),
    "resend_seconds": integer(0, 3600)}


# --- reading -------------------------------------------------------------------------

def _stored(session: Session, name: str) -> dict[str, Any] | None:
    row = session.get(StoredSettings, name)
    return dict(row.value) if row is not None else None


def _with_secret(values: dict[str, Any]) -> dict[str, Any]:
    values = dict(values)
    values["password"] = secrets.decrypt(values.pop("password_encrypted", ""))
    return values


def smtp_config(session: Session, settings: Settings) -> SmtpConfig:
    stored = _stored(session, "smtp")
    if stored is None:
        return SmtpConfig(host=settings.smtp_host, port=settings.smtp_port,
                          from_address=settings.smtp_from)
    return SmtpConfig(**_known(SmtpConfig, _with_secret(stored)))


def sms_config(session: Session) -> SmsConfig:
    stored = _stored(session, "sms")
    return SmsConfig(**_known(SmsConfig, _with_secret(stored))) if stored else SmsConfig()


def verification_config(session: Session) -> VerificationConfig:
    stored = _stored(session, "verification")
    return VerificationConfig(**_known(VerificationConfig, stored)) if stored else \
        VerificationConfig()


def _known(cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    fields = cls.__dataclass_fields__  # type: ignore[attr-defined]
    return {k: v for k, v in values.items() if k in fields}


def view(config: SmtpConfig | SmsConfig | VerificationConfig) -> dict[str, Any]:
    """What the API, web and CLI show: secrets replaced by ``password_set``."""
    values = asdict(config)
    if "password" in values:
        values["password_set"] = bool(values.pop("password"))
    return values


# --- writing -------------------------------------------------------------------------

def _save(session: Session, actor: Actor, name: str, config: Any, before: Any) -> None:
    values = asdict(config)
    if "password" in values:
        values["password_encrypted"] = secrets.encrypt(values.pop("password"))
    row = session.get(StoredSettings, name)
    if row is None:
        row = StoredSettings(name=name)
        session.add(row)
    row.value, row.updated_by = values, actor.username[:64]
    old, new = view(before), view(config)
    if "password_set" in new:
        old["password_changed"] = False
        new["password_changed"] = before.password != config.password
    session.flush()
    audit.record(session, actor, "update", "settings", None, f"{name} settings updated",
                 before=old, after=new)


def _merge(current: C, data: Mapping[str, Any], spec: Mapping[str, Parser]) -> C:
    errors = Errors()
    data = {k: v for k, v in data.items() if not (k == "password" and v is None)}
    values = clean(data, spec, errors)
    errors.check()
    return replace(current, **values)


def update_smtp(session: Session, actor: Actor, settings: Settings,
                data: Mapping[str, Any]) -> SmtpConfig:
    """Change the given fields (admin only); the whole group is checked together."""
    actor.require("admin")
    before = smtp_config(session, settings)
    config = _merge(before, data, SMTP_SPEC)
    errors = Errors()
    if config.host and not config.from_address:
        errors.add("from_address", "is required when a host is set")
    if config.password and not config.username:
        errors.add("username", "is required with a password")
    errors.check()
    _save(session, actor, "smtp", config, before)
    return config


def update_sms(session: Session, actor: Actor, data: Mapping[str, Any]) -> SmsConfig:
    """Change the given fields (admin only). Choosing ``preset: twilio`` fills the
    URL, method, content type, template and auth of the Twilio form API unless the same
    request sets them."""
    actor.require("admin")
    before = sms_config(session)
    data = dict(data)
    if data.get("preset") == "twilio" and before.preset != "twilio":
        data = {**TWILIO, **data}
    config = _merge(before, data, SMS_SPEC)
    errors = Errors()
    if config.auth == "basic" and config.url and not config.username:
        errors.add("username", "is required with basic auth")
    if config.auth in ("basic", "bearer") and config.url and not config.password:
        errors.add("password", f"is required with {config.auth} auth")
    if config.url and "{text}" not in config.body_template + config.url:
        errors.add("body_template", "must contain {text} (in the body or the URL)")
    if config.url and "{to}" not in config.body_template + config.url:
        errors.add("body_template", "must contain {to} (in the body or the URL)")
    errors.check()
    _save(session, actor, "sms", config, before)
    return config


def update_verification(session: Session, actor: Actor,
                        data: Mapping[str, Any]) -> VerificationConfig:
    actor.require("admin")
    before = verification_config(session)
    config = _merge(before, data, VERIFICATION_SPEC)
    _save(session, actor, "verification", config, before)
    return config
