"""config.toml, loaded once into frozen objects and validated at start-up.

Every key is documented in the repository's config.toml. Relative paths are read
relative to the config file's folder. Secrets never come from the file: the file
names the environment variable (or a secrets file) that holds them.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any, Mapping

from email_validator import EmailNotValidError, validate_email

from tracker.errors import ConfigError

SECURITY_CHOICES = ("tls", "starttls", "none")


def _secret(env: str, file: Path | None) -> str | None:
    """A secret, read when needed from the environment variable or else the secrets file."""
    if env and os.environ.get(env):
        return os.environ[env]
    if file:
        return file.read_text().strip()
    return None


@dataclass(frozen=True)
class OAuth2Config:
    """How to obtain XOAUTH2 tokens: a Microsoft 365 app registration (client credentials,
    with a secret or a certificate) or a Google OAuth client (refresh token)."""

    provider: str  # "microsoft" | "google"
    client_id: str
    tenant: str = ""  # microsoft only
    endpoint: str = ""  # microsoft: the authority host; google: the token URL
    scopes: tuple[str, ...] = ()
    client_secret_env: str = ""
    client_secret_file: Path | None = None
    certificate_env: str = ""  # microsoft: PEM with the private key and its certificate
    certificate_file: Path | None = None
    refresh_token_env: str = ""  # google only
    refresh_token_file: Path | None = None
    ca_file: Path | None = None  # a private CA for the identity provider; default the system's

    def client_secret(self) -> str | None:
        return _secret(self.client_secret_env, self.client_secret_file)

    def certificate(self) -> str | None:
        return _secret(self.certificate_env, self.certificate_file)

    def refresh_token(self) -> str | None:
        return _secret(self.refresh_token_env, self.refresh_token_file)

    @property
    def describe(self) -> str:
        return (f"oauth2 (microsoft app {self.client_id}, tenant {self.tenant})" if self.provider == "microsoft"
                else f"oauth2 (google client {self.client_id})")


@dataclass(frozen=True)
class ServerConfig:
    """An IMAP or SMTP server. `kind` 'maildir' means a local folder instead of a server."""

    kind: str
    path: Path | None = None
    host: str = ""
    port: int = 0
    security: str = "tls"
    username: str = ""
    password_env: str = ""
    password_file: Path | None = None
    ca_file: Path | None = None
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    poll_seconds: float = 30.0
    allow_insecure: bool = False
    auth: str = "password"  # or "oauth2": XOAUTH2 as `username` with a token from `oauth2`
    oauth2: OAuth2Config | None = None

    def password(self) -> str | None:
        """The secret, read when needed from the environment or a secrets file."""
        return _secret(self.password_env, self.password_file)

    @property
    def sign_in(self) -> str:
        """How the service signs in, for people: "password" or "oauth2 (microsoft app …)"."""
        return self.oauth2.describe if self.auth == "oauth2" and self.oauth2 else "password"


@dataclass(frozen=True)
class SecurityConfig:
    """Who is believed, and how much the service will say to one address."""

    trusted_authserv_ids: tuple[str, ...] = ()
    require_authentication: bool = False
    max_replies_per_address_per_day: int = 20
    max_attachment_bytes: int = 10_000_000
    refused_attachment_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class PartnershipConfig:
    id: str
    name: str
    address: str
    display_name: str
    business_support: tuple[str, ...]
    partner_domains: tuple[str, ...]
    safeguarding_lead: str | None
    policy: Any  # tracker.policy.model.Policy
    calendar: Any  # tracker.policy.calendar.WorkingCalendar
    inbox: ServerConfig
    outgoing: ServerConfig
    templates_dir: Path
    directory: Any = None  # tracker.policy.directory.Directory
    security: SecurityConfig = SecurityConfig()
    retention_days: int = 730  # closed cases lose raw mail and free text after this; 0 keeps them
    digest_day: int = 0  # Monday; datetime.weekday() numbering
    digest_time: time = time(9, 0)  # in the partnership's time zone

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1]


@dataclass(frozen=True)
class DaemonConfig:
    heartbeat_file: Path
    sweep_seconds: float = 60.0


@dataclass(frozen=True)
class Config:
    path: Path
    database_url: str
    partnership: PartnershipConfig
    daemon: DaemonConfig
    log_level: str = "INFO"


def read_toml(path: Path) -> dict[str, Any]:
    """The parsed file, or a ConfigError a person can act on."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("(file)", f"no config file at {path}; copy config.toml from the project") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("(file)", f"{path} is not valid TOML: {exc}") from None


def load_config(path: str | os.PathLike) -> Config:
    """Read and validate `path`; raises ConfigError naming the key on any bad value."""
    path = Path(path)
    return config_from_dict(read_toml(path), base=path.resolve().parent, path=path)


def config_from_dict(data: Mapping[str, Any], base: Path, path: Path | None = None) -> Config:
    _only_known(data, "", {"partnership", "policy", "calendar", "database", "inbox", "outgoing", "templates",
                          "digest", "logging", "directory", "board", "security", "daemon",
                          "retention"})
    db = _table(data, "database")
    url = os.environ.get(_str(db, "database.url_env", "ESCALATIONS_DATABASE_URL") or "", "") or _str(
        db, "database.url", "sqlite:///var/escalations.db"
    )
    logging_ = _table(data, "logging")
    level = _choice(logging_, "logging.level", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
    daemon = _table(data, "daemon")
    _only_known(daemon, "daemon.", {"heartbeat_file", "sweep_seconds"})
    return Config(
        path=path or base / "config.toml",
        database_url=_resolve_sqlite(url, base),
        partnership=_partnership(data, base),
        daemon=DaemonConfig(heartbeat_file=_path(daemon, "daemon.heartbeat_file", base, "var/heartbeat.json"),
                            sweep_seconds=_float(daemon, "daemon.sweep_seconds", 60.0, 1.0, 3600.0)),
        log_level=level,
    )


def _partnership(data: Mapping[str, Any], base: Path) -> PartnershipConfig:
    from tracker.policy.calendar import calendar_from_config
    from tracker.policy.directory import directory_from_config
    from tracker.policy.build import policy_from_config

    p = _table(data, "partnership")
    _only_known(p, "partnership.", {"id", "name", "address", "display_name", "business_support",
                                    "partner_domains", "safeguarding_lead"})
    pid = _str(p, "partnership.id", "example")
    if not pid.replace("-", "").isalnum():
        raise ConfigError("partnership.id", f"use letters, digits and hyphens only; got {pid!r}")
    templates = _table(data, "templates")
    return PartnershipConfig(
        id=pid,
        name=_str(p, "partnership.name", "Safeguarding Partnership"),
        address=_email(p, "partnership.address", "escalations@partnership.example.test"),
        display_name=_str(p, "partnership.display_name", "Safeguarding Partnership escalations"),
        business_support=tuple(_emails(p, "partnership.business_support")),
        partner_domains=tuple(d.lower() for d in _str_list(p, "partnership.partner_domains")),
        safeguarding_lead=_email(p, "partnership.safeguarding_lead", None),
        policy=policy_from_config(_table(data, "policy") or {"preset": "wolverhampton"}),
        calendar=calendar_from_config(_table(data, "calendar")),
        inbox=_server(_table(data, "inbox"), "inbox", base, default_port={"tls": 993, "starttls": 143, "none": 143}),
        outgoing=_server(_table(data, "outgoing"), "outgoing", base,
                         default_port={"tls": 465, "starttls": 587, "none": 25}),
        templates_dir=_path(templates, "templates.dir", base, "templates"),
        directory=directory_from_config(data.get("directory", []), data.get("board", {})),
        security=_security(_table(data, "security")),
        retention_days=_retention(_table(data, "retention")),
        **_digest(_table(data, "digest")),
    )


REFUSED_TYPES = (".exe", ".com", ".bat", ".cmd", ".scr", ".js", ".vbs", ".ps1", ".jar", ".msi", ".hta",
                 ".zip", ".7z", ".rar", ".gz", ".iso", ".docm", ".xlsm", ".html", ".htm")


def _security(t: Mapping[str, Any]) -> SecurityConfig:
    _only_known(t, "security.", {"trusted_authserv_ids", "require_authentication",
                                 "max_replies_per_address_per_day", "max_attachment_bytes",
                                 "refused_attachment_types"})
    require = _bool(t, "security.require_authentication", False)
    trusted = tuple(x.lower() for x in _str_list(t, "security.trusted_authserv_ids"))
    if require and not trusted:
        raise ConfigError("security.require_authentication",
                          "needs security.trusted_authserv_ids: the receiving server whose results to trust")
    types = t.get("refused_attachment_types")
    return SecurityConfig(
        trusted_authserv_ids=trusted, require_authentication=require,
        max_replies_per_address_per_day=_int(t, "security.max_replies_per_address_per_day", 20, 0, 10_000),
        max_attachment_bytes=_int(t, "security.max_attachment_bytes", 10_000_000, 1_000, 100_000_000),
        refused_attachment_types=tuple(x.lower() for x in _str_list(t, "security.refused_attachment_types"))
        if types is not None else REFUSED_TYPES,
    )


def _retention(t: Mapping[str, Any]) -> int:
    _only_known(t, "retention.", {"closed_case_days"})
    return _int(t, "retention.closed_case_days", 730, 0, 36_500)


DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _digest(t: Mapping[str, Any]) -> dict:
    _only_known(t, "digest.", {"day", "time"})
    day = _choice(t, "digest.day", "monday", DAYS)
    at = _str(t, "digest.time", "09:00")
    try:
        hh, mm = (int(x) for x in at.split(":"))
        when = time(hh, mm)
    except ValueError:
        raise ConfigError("digest.time", f'must be a time of day like "09:00"; got {at!r}') from None
    return {"digest_day": DAYS.index(day), "digest_time": when}


_SERVER_KEYS = {"kind", "path", "host", "port", "security", "username", "password_env", "password_file",
                "ca_file", "folder", "processed_folder", "quarantine_folder", "poll_seconds", "allow_insecure",
                "auth", "oauth2"}


def _server(t: Mapping[str, Any], name: str, base: Path, default_port: Mapping[str, int]) -> ServerConfig:
    _only_known(t, f"{name}.", _SERVER_KEYS)
    kinds = ("maildir", "imap") if name == "inbox" else ("maildir", "smtp")
    kind = _choice(t, f"{name}.kind", "maildir", kinds)
    if kind == "maildir":
        return ServerConfig(kind=kind, path=_path(t, f"{name}.path", base, f"var/{name}"),
                            poll_seconds=_float(t, f"{name}.poll_seconds", 2.0, 0.01, 3600))
    security = _choice(t, f"{name}.security", "tls", SECURITY_CHOICES)
    allow_insecure = _bool(t, f"{name}.allow_insecure", False)
    if security == "none" and (name == "inbox" or t.get("username")):
        raise ConfigError(f"{name}.security", '"none" would send the password unencrypted, which the service '
                          'never does; use "tls" or "starttls"')
    if security == "none" and not allow_insecure:
        raise ConfigError(f"{name}.security", '"none" sends everything unencrypted; use "tls" or "starttls", '
                          f"or set {name}.allow_insecure = true if you really mean it")
    host = _str(t, f"{name}.host", "")
    if not host:
        raise ConfigError(f"{name}.host", f"needed when {name}.kind is {kind!r}")
    port = _int(t, f"{name}.port", default_port[security], 1, 65535)
    ca = t.get("ca_file")
    auth, oauth2 = _sign_in(t, name, base)
    return ServerConfig(
        kind=kind, host=host, port=port, security=security,
        username=_str(t, f"{name}.username", ""),
        password_env=_str(t, f"{name}.password_env", ""),
        password_file=_path(t, f"{name}.password_file", base, None),
        ca_file=_path(t, f"{name}.ca_file", base, None) if ca else None,
        folder=_str(t, f"{name}.folder", "INBOX"),
        processed_folder=_str(t, f"{name}.processed_folder", "Processed"),
        quarantine_folder=_str(t, f"{name}.quarantine_folder", "Quarantine"),
        poll_seconds=_float(t, f"{name}.poll_seconds", 30.0, 0.01, 3600),
        allow_insecure=allow_insecure, auth=auth, oauth2=oauth2,
    )


def _sign_in(t: Mapping[str, Any], name: str, base: Path) -> tuple[str, "OAuth2Config | None"]:
    auth = _choice(t, f"{name}.auth", "password", ("password", "oauth2"))
    table = t.get("oauth2", {})
    if not isinstance(table, Mapping):
        raise ConfigError(f"{name}.oauth2", f"must be a table ([{name}.oauth2]), got {type(table).__name__}")
    if auth == "password":
        if table:
            raise ConfigError(f"{name}.oauth2", f'is used only with {name}.auth = "oauth2"')
        return auth, None
    if not _str(t, f"{name}.username", ""):
        raise ConfigError(f"{name}.username", "needed with auth = \"oauth2\": the mailbox signed in to (for a "
                          "Microsoft 365 shared mailbox, its address)")
    for key in ("password_env", "password_file"):
        if key in t:
            raise ConfigError(f"{name}.{key}", 'not used with auth = "oauth2"; the secrets go in '
                              f"[{name}.oauth2]")
    return auth, _oauth2(table, f"{name}.oauth2", base)


_OAUTH2_ONLY = {"microsoft": {"tenant", "authority", "certificate_env", "certificate_file"},
                "google": {"token_url", "refresh_token_env", "refresh_token_file"}}


def _oauth2(t: Mapping[str, Any], key: str, base: Path) -> OAuth2Config:
    from mailer import oauth

    _only_known(t, f"{key}.", {"provider", "client_id", "client_secret_env", "client_secret_file", "scopes",
                               "ca_file"} | _OAUTH2_ONLY["microsoft"] | _OAUTH2_ONLY["google"])
    provider = _choice(t, f"{key}.provider", "microsoft", ("microsoft", "google"))
    for other in _OAUTH2_ONLY.keys() - {provider}:
        for k in _OAUTH2_ONLY[other] & set(t):
            raise ConfigError(f"{key}.{k}", f'is for provider = "{other}" only')
    if not _str(t, f"{key}.client_id", ""):
        raise ConfigError(f"{key}.client_id", "needed: the app's client ID (Application ID in Entra ID)")
    if provider == "microsoft" and not _str(t, f"{key}.tenant", ""):
        raise ConfigError(f"{key}.tenant", "needed: the Microsoft 365 tenant (Directory) ID or its domain")
    secrets = {k: (_str(t, f"{key}.{k}_env", ""), _path(t, f"{key}.{k}_file", base, None))
               for k in ("client_secret", "certificate", "refresh_token")}
    given = {k for k, (env, file) in secrets.items() if env or file}
    needed = ({"client_secret", "refresh_token"} if provider == "google" else
              {"certificate"} if "certificate" in given else {"client_secret"})
    for k in sorted(needed - given):
        raise ConfigError(f"{key}.{k}_env", f"needed (or {k}_file): the environment variable holding the "
                          f"{k.replace('_', ' ')}" + (", or a certificate_file" if k == "client_secret" else ""))
    if given >= {"client_secret", "certificate"}:
        raise ConfigError(f"{key}.certificate_file", "give a client secret or a certificate, not both")
    endpoint_key, default = (("authority", oauth.MICROSOFT_AUTHORITY) if provider == "microsoft"
                             else ("token_url", oauth.GOOGLE_TOKEN_URL))
    endpoint = _str(t, f"{key}.{endpoint_key}", default)
    if not endpoint.startswith("https://"):
        raise ConfigError(f"{key}.{endpoint_key}", f"must be an https:// address; got {endpoint!r}")
    default_scope = oauth.MICROSOFT_SCOPE if provider == "microsoft" else oauth.GOOGLE_SCOPE
    return OAuth2Config(
        provider=provider, client_id=_str(t, f"{key}.client_id", ""), tenant=_str(t, f"{key}.tenant", ""),
        endpoint=endpoint, scopes=tuple(_str_list(t, f"{key}.scopes")) or (default_scope,),
        client_secret_env=secrets["client_secret"][0], client_secret_file=secrets["client_secret"][1],
        certificate_env=secrets["certificate"][0], certificate_file=secrets["certificate"][1],
        refresh_token_env=secrets["refresh_token"][0], refresh_token_file=secrets["refresh_token"][1],
        ca_file=_path(t, f"{key}.ca_file", base, None),
    )


# --- small typed readers: each names the key in its error ------------------------------

def _table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(key, f"must be a table ([{key}]), got {type(value).__name__}")
    return value


def _only_known(t: Mapping[str, Any], prefix: str, known: set[str]) -> None:
    for k in t:
        if k not in known:
            raise ConfigError(f"{prefix}{k}", f"unknown key; known keys here are: {', '.join(sorted(known))}")


def _str(t: Mapping[str, Any], key: str, default: str | None) -> str | None:
    value = t.get(key.rsplit(".", 1)[-1], default)
    if value is not None and not isinstance(value, str):
        raise ConfigError(key, f"must be text in quotes, got {value!r}")
    return value


def _str_list(t: Mapping[str, Any], key: str) -> list[str]:
    value = t.get(key.rsplit(".", 1)[-1], [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(key, f'must be a list of text values, e.g. ["a", "b"]; got {value!r}')
    return value


def _email(t: Mapping[str, Any], key: str, default: str | None) -> str | None:
    value = _str(t, key, default)
    return _check_email(key, value) if value else value


def _emails(t: Mapping[str, Any], key: str) -> list[str]:
    return [_check_email(key, v) for v in _str_list(t, key)]


def _check_email(key: str, value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False, test_environment=True).normalized.lower()
    except EmailNotValidError as exc:
        raise ConfigError(key, f"{value!r} is not an email address: {exc}") from None


def _choice(t: Mapping[str, Any], key: str, default: str, choices: tuple[str, ...]) -> str:
    value = _str(t, key, default)
    if value not in choices:
        raise ConfigError(key, f"must be one of {', '.join(repr(c) for c in choices)}; got {value!r}")
    return value


def _int(t: Mapping[str, Any], key: str, default: int, lo: int, hi: int) -> int:
    value = t.get(key.rsplit(".", 1)[-1], default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(key, f"must be a whole number from {lo} to {hi}; got {value!r}")
    return value


def _float(t: Mapping[str, Any], key: str, default: float, lo: float, hi: float) -> float:
    value = t.get(key.rsplit(".", 1)[-1], default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise ConfigError(key, f"must be a number from {lo} to {hi}; got {value!r}")
    return float(value)


def _bool(t: Mapping[str, Any], key: str, default: bool) -> bool:
    value = t.get(key.rsplit(".", 1)[-1], default)
    if not isinstance(value, bool):
        raise ConfigError(key, f"must be true or false (no quotes); got {value!r}")
    return value


def _path(t: Mapping[str, Any], key: str, base: Path, default: str | None) -> Path | None:
    value = _str(t, key, default)
    if value is None:
        return None
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def _resolve_sqlite(url: str, base: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite://":
        return prefix + str(base / url[len(prefix):])
    return url
