"""The desk's settings: config.toml's [desk] table, validated into frozen values.

Every key is documented in config.toml. Who may sign in, and as what, is configured here
(addresses, or identity-provider groups written "group:<id>"); the secrets (the session key,
the OpenID client secret) come from the environment or a secrets file, never the file.

    desk = desk_settings(config)        # raises ConfigError naming the key
    desk.session_secret()               # -> the key, or ConfigError when unset
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from tracker.config.readers import boolean, file_path, integer, only_known, text, texts
from tracker.errors import ConfigError

MICROSOFT_LOGIN = "https://login.microsoftonline.com"
GOOGLE_ISSUER = "https://accounts.google.com"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class AgencyLead:
    """Safeguarding leads who see every case with a party at one of the agency's domains."""

    agency: str
    domains: tuple[str, ...]
    people: tuple[str, ...]  # addresses and "group:<id>"


@dataclass(frozen=True)
class OidcSettings:
    provider: str  # "microsoft" | "google"
    issuer: str  # discovery is at issuer + /.well-known/openid-configuration
    client_id: str
    client_secret_env: str
    client_secret_file: Path | None
    ca_file: Path | None
    groups_claim: str
    hosted_domain: str  # google: the Workspace domain (the ID token's "hd"), or ""

    def client_secret(self) -> str:
        return _secret(self.client_secret_env, self.client_secret_file, "desk.oidc.client_secret_env")

    @property
    def label(self) -> str:
        return "Microsoft" if self.provider == "microsoft" else "Google"


@dataclass(frozen=True)
class DeskSettings:
    base_url: str
    session_secret_env: str
    session_secret_file: Path | None
    session_hours: int
    link_minutes: int
    links: bool
    business_support: tuple[str, ...]
    board: tuple[str, ...]
    agency_leads: tuple[AgencyLead, ...]
    oidc: OidcSettings | None

    def session_secret(self) -> str:
        key = _secret(self.session_secret_env, self.session_secret_file, "desk.session_secret_env")
        if len(key) < 32:
            raise ConfigError("desk.session_secret_env", "the session key must be at least 32 characters "
                              "(e.g. `python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`)")
        return key

    @property
    def secure_cookies(self) -> bool:
        """Cookies are Secure everywhere but on loopback, where the desk may be plain http."""
        return urlsplit(self.base_url).hostname not in LOOPBACK


def _secret(env: str, file: Path | None, key: str) -> str:
    if env and os.environ.get(env):
        return os.environ[env]
    if file is not None:
        try:
            return file.read_text().strip()
        except OSError as exc:
            raise ConfigError(key.replace("_env", "_file"), f"cannot read {file}: {exc.strerror}") from None
    raise ConfigError(key, f"set the environment variable {env or '(not named)'} or the secrets file")


def desk_settings(config) -> DeskSettings:
    """config.desk (the [desk] table) validated; defaults fill what is left out."""
    t = config.desk
    base = config.path.resolve().parent
    only_known(t, "desk.", {"base_url", "session_secret_env", "session_secret_file", "session_hours", "link_minutes",
                        "links", "business_support", "board", "agency_leads", "oidc"})
    url = text(t, "desk.base_url", "http://127.0.0.1:8080").rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise ConfigError("desk.base_url", f"must be the desk's address, like https://desk.example.org; got {url!r}")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise ConfigError("desk.base_url", "must be https:// except on loopback (127.0.0.1): sessions need "
                          "Secure cookies")
    oidc = t.get("oidc")
    settings = DeskSettings(
        base_url=url,
        session_secret_env=text(t, "desk.session_secret_env", "ESCALATIONS_DESK_SECRET"),
        session_secret_file=file_path(t, "desk.session_secret_file", base, None),
        session_hours=integer(t, "desk.session_hours", 8, 1, 24),
        link_minutes=integer(t, "desk.link_minutes", 15, 5, 60),
        links=boolean(t, "desk.links", True),
        business_support=tuple(config.partnership.business_support) + _people(t, "desk.business_support"),
        board=_people(t, "desk.board"),
        agency_leads=tuple(_lead(x, i, config) for i, x in enumerate(_tables(t, "desk.agency_leads"))),
        oidc=_oidc(oidc, base) if oidc is not None else None,
    )
    if not settings.links and settings.oidc is None:
        raise ConfigError("desk.links", "with links = false, set up [desk.oidc]: nobody could sign in")
    return settings


def _lead(t: Any, i: int, config) -> AgencyLead:
    key = f"desk.agency_leads[{i}]"
    if not isinstance(t, Mapping):
        raise ConfigError(key, "each is a table: [[desk.agency_leads]] with agency, domains, people")
    only_known(t, key + ".", {"agency", "domains", "people"})
    agency = text(t, key + ".agency", "")
    if not agency:
        raise ConfigError(key + ".agency", "needed: the agency's name")
    directory = config.partnership.directory
    listed = next((a.domains for a in (directory.agencies if directory else ()) if a.name == agency), ())
    domains = tuple(d.lower() for d in texts(t, key + ".domains") or listed)
    if not domains or not all(isinstance(d, str) and "." in d for d in domains):
        raise ConfigError(key + ".domains", 'needed: the agency\'s email domains, e.g. ["health.example.org"]')
    return AgencyLead(agency, domains, _people(t, key + ".people"))


def _oidc(t: Any, base: Path) -> OidcSettings:
    if not isinstance(t, Mapping):
        raise ConfigError("desk.oidc", "must be a table ([desk.oidc])")
    only_known(t, "desk.oidc.", {"provider", "tenant", "issuer", "client_id", "client_secret_env",
                             "client_secret_file", "ca_file", "groups_claim", "hosted_domain"})
    provider = text(t, "desk.oidc.provider", "microsoft")
    if provider not in ("microsoft", "google"):
        raise ConfigError("desk.oidc.provider", f'must be "microsoft" or "google"; got {provider!r}')
    tenant = text(t, "desk.oidc.tenant", "")
    default = f"{MICROSOFT_LOGIN}/{tenant}/v2.0" if provider == "microsoft" and tenant else (
        GOOGLE_ISSUER if provider == "google" else "")
    issuer = text(t, "desk.oidc.issuer", default).rstrip("/")
    if not issuer:
        raise ConfigError("desk.oidc.tenant", "needed for Microsoft: the Directory (tenant) ID")
    if not issuer.startswith("https://"):
        raise ConfigError("desk.oidc.issuer", f"must be an https:// address; got {issuer!r}")
    client_id = text(t, "desk.oidc.client_id", "")
    if not client_id:
        raise ConfigError("desk.oidc.client_id", "needed: the app registration's client ID")
    env = text(t, "desk.oidc.client_secret_env", "")
    file = file_path(t, "desk.oidc.client_secret_file", base, None)
    if not env and file is None:
        raise ConfigError("desk.oidc.client_secret_env", "needed (or client_secret_file): where the client "
                          "secret is")
    return OidcSettings(provider, issuer, client_id, env, file, file_path(t, "desk.oidc.ca_file", base, None),
                        text(t, "desk.oidc.groups_claim", "groups"), text(t, "desk.oidc.hosted_domain", ""))


def _tables(t: Mapping[str, Any], key: str) -> list:
    value = t.get(key.rsplit(".", 1)[-1], [])
    if not isinstance(value, list):
        raise ConfigError(key, "must be tables: one [[desk.agency_leads]] per agency")
    return value


def _people(t: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """Addresses (lower-cased) and "group:<id>" entries."""
    out = []
    for v in texts(t, key):
        if not (v.startswith("group:") and len(v) > 6 or "@" in v.strip("@")):
            raise ConfigError(key, f'each entry is an email address or "group:<id>"; got {v!r}')
        out.append(v if v.startswith("group:") else v.strip().lower())
    return tuple(out)
