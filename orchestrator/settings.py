"""One settings object for the whole control plane.

Values come, highest priority first, from keyword arguments, environment variables
prefixed ``ORCHESTRATOR_`` (``ORCHESTRATOR_SIP_PORT=5070``), an optional TOML file
(path in ``ORCHESTRATOR_CONFIG``, else ``orchestrator.toml`` in the project root if it
exists), and the defaults below.  docs/configuration.md lists every field.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _toml_path() -> Path | None:
    explicit = os.environ.get("ORCHESTRATOR_CONFIG")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise FileNotFoundError(f"ORCHESTRATOR_CONFIG points to {path}, which is not a file")
        return path
    default = PROJECT_ROOT / "orchestrator.toml"
    return default if default.is_file() else None


# Scanner user agents dropped by default: SIPVicious (friendly-scanner, sipvicious,
# sipcli), VaxSIPUserAgent, pplsip, sundayddr, iWar, sip-scan / SIPScan, smap. Not
# sipsak: operators use it for health checks.
DEFAULT_SCANNER_USER_AGENTS = (
    "friendly-scanner|sipvicious|sipcli|vaxsipuseragent|pplsip|sundayddr|iwar|"
    "sip-?scan|smap")

# What scanner_user_agents may hold: a regular expression that means the same to Python
# and to Kamailio's POSIX extended regcomp, inside a Kamailio string literal.
_PYTHON_ONLY_REGEX = re.compile(r"\\[A-Za-z0-9]|\(\?|[*+?}]\?")


class Settings(BaseSettings):
    """Ports, paths and memory of the local switch and the control plane."""

    model_config = SettingsConfigDict(env_prefix="ORCHESTRATOR_", extra="forbid")

    # Paths
    var_dir: Path = Field(PROJECT_ROOT / "var", description="Runtime state: database, "
                          "rendered configs, pid files, logs")
    templates_dir: Path = Field(PROJECT_ROOT / "templates",
                                description="Jinja2 templates of the data plane")
    database_url: str = Field("", description="SQLAlchemy URL; default SQLite in var_dir")

    # Kamailio
    kamailio_binary: str = "kamailio"
    sip_ip: str = Field("127.0.0.1", description="Address Kamailio listens on for SIP")
    sip_port: int = Field(5060, ge=1, le=65535, description="SIP port, UDP and TCP")
    rpc_port: int = Field(5071, ge=1, le=65535,
                          description="Kamailio JSON-RPC (HTTP) port, loopback only")
    kamailio_shm_mb: int = Field(1024, ge=64, description="Kamailio shared memory (-m), MB")
    kamailio_pkg_mb: int = Field(64, ge=8, description="Kamailio private memory per "
                                 "process (-M), MB; a reload reads the whole mtrees table "
                                 "into it: about 450 bytes per tariff prefix loaded")
    kamailio_children: int = Field(4, ge=1, le=64, description="UDP/TCP worker processes")
    kamailio_debug: int = Field(1, ge=-5, le=4, description="Kamailio log level")

    # rtpengine
    rtpengine_binary: str = "rtpengine"
    rtpengine_ng_port: int = Field(2223, ge=1, le=65535,
                                   description="rtpengine ng control port, loopback only")
    dtmf_port: int = Field(2224, ge=1, le=65535,
                           description="UDP port of the DTMF collector on loopback: "
                           "rtpengine sends it one JSON datagram per DTMF event")
    media_ip: str = Field("127.0.0.1", description="Address rtpengine relays media on")
    rtp_port_min: int = Field(30000, ge=1024, le=65535)
    rtp_port_max: int = Field(40000, ge=1024, le=65535)
    rtp_timeout: int = Field(60, ge=1, description="Seconds without RTP before a call is "
                             "considered dead")
    rtpengine_log_level: int = Field(5, ge=0, le=7)

    # Web admin
    web_host: str = "127.0.0.1"
    web_port: int = Field(8080, ge=1, le=65535)
    secret_key: str = Field("", description="Flask session key; generated into var_dir "
                            "when empty")
    encryption_key: str = Field("", description="Fernet key that encrypts secrets at rest "
                                "(carrier portal passwords, SMTP/SMS credentials); "
                                "generated into var_dir when empty")
    sip_realm: str = Field("switch.local", min_length=1, max_length=128,
                           pattern=r"^[A-Za-z0-9.-]+$",
                           description="Digest realm of the switch; SIP user HA1 hashes "
                           "are computed for it")

    # Background jobs (huey, queue in var_dir/jobs.db)
    job_workers: int = Field(2, ge=1, le=64, description="Worker threads of "
                             "`orchestrator jobs worker`")

    # Switch data (issue 5)
    media_zones: dict[str, str] = Field(
        default_factory=dict,
        description="Media zones: name -> rtpengine ng socket(s) of that zone, space "
        "separated, e.g. {eu = \"udp:10.0.0.5:2223\"}; routes pick one by name "
        "(rtp_proxy), `auto` is the local rtpengine")
    snapshots_kept: int = Field(10, ge=2, le=1000, description="Applied switch snapshots "
                                "kept for rollback")
    sip_ping_interval: int = Field(30, ge=30, le=3600, description="Seconds between "
                                   "in-dialog OPTIONS of routes with SIP ping")
    topology_hiding: bool = Field(True, description="Hide each side's Via, Record-Route, "
                                  "Contact, Call-ID and From from the other side "
                                  "(docs/sip-interop.md); costs about a third of the "
                                  "switch's call rate (docs/performance.md)")

    # CDRs and billing (docs/billing.md)
    cdrs: bool = Field(True, description="Write a CDR for every call attempt (Kamailio "
                       "acc into flat files under var_dir/cdrs, collected into the "
                       "database); off only to measure what accounting costs")
    cdr_collect_seconds: float = Field(2.0, ge=0.1, le=3600, description="How often the "
                                       "CDR collector moves the switch's CDR files into "
                                       "the database")
    cdr_path: str = Field("", max_length=500, description="Directory Kamailio writes CDR "
                          "lines to; empty: var_dir/cdrs. A RAM-backed directory (e.g. "
                          "/dev/shm/orchestrator-cdrs) keeps the call rate where a slow "
                          "disk would cost it (docs/performance.md), at the risk of losing "
                          "lines not yet collected if the host goes down")
    smtp_host: str = Field("", max_length=255, description="Initial SMTP server, until "
                           "an admin saves the SMTP settings (web Settings -> Email, "
                           "PUT /api/v1/settings/smtp); empty: email off")
    smtp_port: int = Field(25, ge=1, le=65535, description="Initial port of smtp_host")
    smtp_from: str = Field("switch@localhost", max_length=254, description="Initial From "
                           "address of the emails the switch sends")
    notify_attempts: int = Field(5, ge=1, le=20, description="Delivery attempts of an "
                                 "email or SMS before it is reported failed")
    notify_retry_seconds: float = Field(30.0, ge=0.01, le=3600, description="Wait before "
                                        "the second delivery attempt; doubled before each "
                                        "further one")

    # Abuse protection (docs/abuse.md)
    scanner_user_agents: str = Field(
        DEFAULT_SCANNER_USER_AGENTS, max_length=1000,
        description="Requests whose User-Agent matches this regular expression (POSIX "
        "extended, case-insensitive) are dropped without any reply; empty: none")
    flood_requests: int = Field(100, ge=0, le=100000, description="Requests from one "
                                "source address per flood_window that get it banned "
                                "(pike); 0 turns flood bans off. Known customer and "
                                "carrier addresses are never counted")
    flood_window: int = Field(2, ge=1, le=60, description="Seconds over which "
                              "flood_requests are counted")
    ban_seconds: int = Field(600, ge=1, le=604800, description="How long a flooding "
                             "source stays banned (every request dropped, no reply)")

    # Rate cards
    base_currency: str = Field("USD", pattern=r"^[A-Z]{3}$",
                               description="ISO 4217 code that exchange rates are "
                               "quoted against (units of a currency per 1 of it)")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml = _toml_path()
        if toml is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)

    @field_validator("sip_ip", "media_ip", "web_host")
    @classmethod
    def _ip(cls, value: str) -> str:
        ip_address(value)
        return value

    @field_validator("media_zones")
    @classmethod
    def _zones(cls, value: dict[str, str]) -> dict[str, str]:
        for name, sockets in value.items():
            if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,49}$", name) or name in (
                    "auto", "direct"):
                raise ValueError(f"media zone {name!r}: a name of letters, digits, _ and "
                                 "- (not auto or direct)")
            if not sockets.split() or not all(
                    re.match(r"^udp6?:[^\s:]+:\d+$|^udp6?:\[[0-9a-fA-F:]+\]:\d+$", x)
                    for x in sockets.split()):
                raise ValueError(f"media zone {name!r}: ng sockets like udp:10.0.0.5:2223")
        return value

    @field_validator("scanner_user_agents")
    @classmethod
    def _scanner_regex(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        if any(c in value for c in "\"\n\r\t") or not value.isprintable():
            raise ValueError("a regular expression on one line without double quotes")
        found = _PYTHON_ONLY_REGEX.search(value)
        if found:
            raise ValueError(f"{found.group(0)!r} is not POSIX extended syntax (Kamailio "
                             "matches with regcomp): write [0-9] for \\d, [[:space:]] for "
                             "\\s, and no (?...) groups or lazy quantifiers")
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        if re.search(value, "", re.IGNORECASE):
            raise ValueError("it matches every User-Agent (it matches the empty string): "
                             "every request would be dropped")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.rtp_port_min >= self.rtp_port_max:
            raise ValueError("rtp_port_min must be below rtp_port_max")
        ports = {"sip_port": self.sip_port, "rpc_port": self.rpc_port}
        if len(set(ports.values())) != len(ports):
            raise ValueError("sip_port and rpc_port must differ")
        return self

    # Derived paths -------------------------------------------------------------------
    @property
    def run_dir(self) -> Path:
        return self.var_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "log"

    @property
    def config_dir(self) -> Path:
        return self.var_dir / "etc"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'orchestrator.db'}"

    @property
    def switch_dir(self) -> Path:
        """Switch data: the local node's Kamailio table file and applied snapshots."""
        return self.var_dir / "switch"

    @property
    def switch_db(self) -> Path:
        """The local node's Kamailio table file (db_sqlite)."""
        return self.switch_dir / "kamailio.db"

    @property
    def cdr_dir(self) -> Path:
        """Where Kamailio writes CDR lines (db_flatstore: cdrs_<process rank>.log)."""
        return Path(self.cdr_path) if self.cdr_path else self.var_dir / "cdrs"

    def media_zone_sets(self) -> dict[str, int]:
        """rtpengine set id of each media zone: ``auto`` is 0, the others 1.. by name."""
        return {"auto": 0} | {name: n for n, name in enumerate(sorted(self.media_zones), 1)}

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.rpc_port}/RPC"

    def ensure_dirs(self) -> None:
        for path in (self.var_dir, self.run_dir, self.log_dir, self.config_dir,
                     self.cdr_dir):
            path.mkdir(parents=True, exist_ok=True)

    def flask_secret(self) -> str:
        """The configured secret key, or one generated once and kept in var_dir."""
        if self.secret_key:
            return self.secret_key
        self.ensure_dirs()
        path = self.var_dir / "secret_key"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip()

    def topology_key(self) -> str:
        """The key topology hiding (Kamailio topoh) encodes addresses and Call-IDs with:
        derived from the secret key, so every node with the same settings can decode
        what another one encoded."""
        digest = hmac.new(self.flask_secret().encode(), b"topoh mask key", hashlib.sha256)
        return digest.hexdigest()[:32]

    def fernet_key(self) -> str:
        """The configured encryption key, or one generated once and kept in var_dir.

        Back it up with the database: encrypted secrets cannot be read without it.
        """
        if self.encryption_key:
            return self.encryption_key
        self.ensure_dirs()
        path = self.var_dir / "encryption_key"
        if not path.exists():
            from cryptography.fernet import Fernet

            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(Fernet.generate_key().decode())
        return path.read_text().strip()

    def with_overrides(self, **changes: Any) -> Settings:
        """A validated copy with some fields changed (tests pick free ports this way)."""
        data = self.model_dump()
        data.update(changes)
        return Settings(**data)
