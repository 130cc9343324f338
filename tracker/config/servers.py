"""[inbox] and [outgoing]: the mail servers (or local Maildirs) and how the service signs in
to them, with a password or OAuth2 (Microsoft 365 client credentials, Google refresh token).

The checks refuse, at start-up, anything that would send a secret unencrypted.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from mailer import oauth
from tracker.config.readers import boolean, choice, file_path, integer, number, only_known, text, texts
from tracker.config.values import OAuth2Config, ServerConfig
from tracker.errors import ConfigError

SECURITY_CHOICES = ("tls", "starttls", "none")
INBOX_PORTS = {"tls": 993, "starttls": 143, "none": 143}
OUTGOING_PORTS = {"tls": 465, "starttls": 587, "none": 25}

_SERVER_KEYS = {"kind", "path", "host", "port", "security", "username", "password_env", "password_file",
                "ca_file", "folder", "processed_folder", "quarantine_folder", "poll_seconds", "allow_insecure",
                "auth", "oauth2"}
_OAUTH2_ONLY = {"microsoft": {"tenant", "authority", "certificate_env", "certificate_file"},
                "google": {"token_url", "refresh_token_env", "refresh_token_file"}}
_SECRETS = ("client_secret", "certificate", "refresh_token")


def server(t: Mapping[str, Any], name: str, base: Path, default_port: Mapping[str, int],
           state: Path | None = None) -> ServerConfig:
    """The [inbox] (name "inbox") or [outgoing] table as a ServerConfig; a local Maildir is
    state, read relative to `state` (default: `base`)."""
    only_known(t, f"{name}.", _SERVER_KEYS)
    kinds = ("maildir", "imap") if name == "inbox" else ("maildir", "smtp")
    kind = choice(t, f"{name}.kind", "maildir", kinds)
    if kind == "maildir":
        return ServerConfig(kind=kind, path=file_path(t, f"{name}.path", state or base, name),
                            poll_seconds=number(t, f"{name}.poll_seconds", 2.0, 0.01, 3600))
    security, allow_insecure = _security(t, name)
    host = text(t, f"{name}.host", "")
    if not host:
        raise ConfigError(f"{name}.host", f"needed when {name}.kind is {kind!r}")
    port = integer(t, f"{name}.port", default_port[security], 1, 65535)
    ca = t.get("ca_file")
    auth, oauth2 = _sign_in(t, name, base)
    return ServerConfig(
        kind=kind, host=host, port=port, security=security,
        username=text(t, f"{name}.username", ""),
        password_env=text(t, f"{name}.password_env", ""),
        password_file=file_path(t, f"{name}.password_file", base, None),
        ca_file=file_path(t, f"{name}.ca_file", base, None) if ca else None,
        folder=text(t, f"{name}.folder", "INBOX"),
        processed_folder=text(t, f"{name}.processed_folder", "Processed"),
        quarantine_folder=text(t, f"{name}.quarantine_folder", "Quarantine"),
        poll_seconds=number(t, f"{name}.poll_seconds", 30.0, 0.01, 3600),
        allow_insecure=allow_insecure, auth=auth, oauth2=oauth2,
    )


def _security(t: Mapping[str, Any], name: str) -> tuple[str, bool]:
    security = choice(t, f"{name}.security", "tls", SECURITY_CHOICES)
    allow_insecure = boolean(t, f"{name}.allow_insecure", False)
    if security == "none" and (name == "inbox" or t.get("username")):
        raise ConfigError(f"{name}.security", '"none" would send the password unencrypted, which the service '
                          'never does; use "tls" or "starttls"')
    if security == "none" and not allow_insecure:
        raise ConfigError(f"{name}.security", '"none" sends everything unencrypted; use "tls" or "starttls", '
                          f"or set {name}.allow_insecure = true if you really mean it")
    return security, allow_insecure


def _sign_in(t: Mapping[str, Any], name: str, base: Path) -> tuple[str, OAuth2Config | None]:
    auth = choice(t, f"{name}.auth", "password", ("password", "oauth2"))
    oauth2 = t.get("oauth2", {})
    if not isinstance(oauth2, Mapping):
        raise ConfigError(f"{name}.oauth2", f"must be a table ([{name}.oauth2]), got {type(oauth2).__name__}")
    if auth == "password":
        if oauth2:
            raise ConfigError(f"{name}.oauth2", f'is used only with {name}.auth = "oauth2"')
        return auth, None
    if not text(t, f"{name}.username", ""):
        raise ConfigError(f"{name}.username", "needed with auth = \"oauth2\": the mailbox signed in to (for a "
                          "Microsoft 365 shared mailbox, its address)")
    for key in ("password_env", "password_file"):
        if key in t:
            raise ConfigError(f"{name}.{key}", 'not used with auth = "oauth2"; the secrets go in '
                              f"[{name}.oauth2]")
    return auth, _oauth2(oauth2, f"{name}.oauth2", base)


def _oauth2(t: Mapping[str, Any], key: str, base: Path) -> OAuth2Config:
    provider = _provider(t, key)
    secrets = _secrets(t, key, base, provider)
    return OAuth2Config(
        provider=provider, client_id=text(t, f"{key}.client_id", ""), tenant=text(t, f"{key}.tenant", ""),
        endpoint=_endpoint(t, key, provider),
        scopes=tuple(texts(t, f"{key}.scopes")) or (oauth.MICROSOFT_SCOPE if provider == "microsoft"
                                                    else oauth.GOOGLE_SCOPE,),
        client_secret_env=secrets["client_secret"][0], client_secret_file=secrets["client_secret"][1],
        certificate_env=secrets["certificate"][0], certificate_file=secrets["certificate"][1],
        refresh_token_env=secrets["refresh_token"][0], refresh_token_file=secrets["refresh_token"][1],
        ca_file=file_path(t, f"{key}.ca_file", base, None),
    )


def _provider(t: Mapping[str, Any], key: str) -> str:
    """Which identity provider, with the keys only the other one takes refused."""
    only_known(t, f"{key}.", {"provider", "client_id", "client_secret_env", "client_secret_file", "scopes",
                              "ca_file"} | _OAUTH2_ONLY["microsoft"] | _OAUTH2_ONLY["google"])
    provider = choice(t, f"{key}.provider", "microsoft", ("microsoft", "google"))
    for other in _OAUTH2_ONLY.keys() - {provider}:
        for k in _OAUTH2_ONLY[other] & set(t):
            raise ConfigError(f"{key}.{k}", f'is for provider = "{other}" only')
    if not text(t, f"{key}.client_id", ""):
        raise ConfigError(f"{key}.client_id", "needed: the app's client ID (Application ID in Entra ID)")
    if provider == "microsoft" and not text(t, f"{key}.tenant", ""):
        raise ConfigError(f"{key}.tenant", "needed: the Microsoft 365 tenant (Directory) ID or its domain")
    return provider


def _secrets(t: Mapping[str, Any], key: str, base: Path, provider: str) -> dict[str, tuple[str, Path | None]]:
    """Where each secret is (environment variable, secrets file): the ones the provider needs."""
    secrets = {k: (text(t, f"{key}.{k}_env", ""), file_path(t, f"{key}.{k}_file", base, None)) for k in _SECRETS}
    given = {k for k, (env, file) in secrets.items() if env or file}
    needed = ({"client_secret", "refresh_token"} if provider == "google" else
              {"certificate"} if "certificate" in given else {"client_secret"})
    for k in sorted(needed - given):
        raise ConfigError(f"{key}.{k}_env", f"needed (or {k}_file): the environment variable holding the "
                          f"{k.replace('_', ' ')}" + (", or a certificate_file" if k == "client_secret" else ""))
    if given >= {"client_secret", "certificate"}:
        raise ConfigError(f"{key}.certificate_file", "give a client secret or a certificate, not both")
    return secrets


def _endpoint(t: Mapping[str, Any], key: str, provider: str) -> str:
    endpoint_key, default = (("authority", oauth.MICROSOFT_AUTHORITY) if provider == "microsoft"
                             else ("token_url", oauth.GOOGLE_TOKEN_URL))
    endpoint = text(t, f"{key}.{endpoint_key}", default)
    if not endpoint.startswith("https://"):
        raise ConfigError(f"{key}.{endpoint_key}", f"must be an https:// address; got {endpoint!r}")
    return endpoint
