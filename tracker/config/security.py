"""[security]: whose word says a sender is who they claim, and how much the service says to one
address.

`receiving_server` names the server that receives the partnership's mail and writes its
verdict into each message (Authentication-Results, RFC 8601): "microsoft" (Exchange Online),
"google" (Google Workspace, mx.google.com), "self-hosted" (an MX of the partnership's own,
with its `authserv_id`), or "none" (nobody: any From is believed; a local demo or a test rig
only). Left out, nothing can be authenticated, so no message opens or moves a case: an
absent key must never mean "trust any From", and a deployment that forgot it loses no
safety, only service, which `escalations check` and the quarantine reasons say plainly.

The keys before it (`trusted_authserv_ids`, `require_authentication`) are read as
"self-hosted" with those ids (mail with no result from them is now refused as well);
`trusted_authserv_ids = []`, which trusted any From, stops start-up with what to write.
"""
from __future__ import annotations

from typing import Any, Mapping

from parser.authres import TrustSettings
from tracker.config.readers import boolean, integer, number, only_known, text, texts
from tracker.config.values import RECEIVING_SERVERS, SecurityConfig
from tracker.errors import ConfigError

REFUSED_TYPES = (".exe", ".com", ".bat", ".cmd", ".scr", ".js", ".vbs", ".ps1", ".jar", ".msi", ".hta",
                 ".zip", ".7z", ".rar", ".gz", ".iso", ".docm", ".xlsm", ".html", ".htm")
GOOGLE_ID = "mx.google.com"
_CHOOSE = ('receiving_server = "microsoft", "google" or "self-hosted" (with authserv_id = "<your MX>"), '
           'or "none" for a local demo or test rig')
_KEYS = {"receiving_server", "authserv_id", "accept_compauth", "trusted_authserv_ids", "require_authentication",
         "max_replies_per_address_per_day", "max_new_cases_per_sender_per_day", "max_attachment_bytes",
         "refused_attachment_types", "parse_budget_seconds"}


def security(t: Mapping[str, Any]) -> SecurityConfig:
    only_known(t, "security.", _KEYS)
    server, ids, note = _receiving_server(t)
    compauth = boolean(t, "security.accept_compauth", False)
    if compauth and server != "microsoft":
        raise ConfigError("security.accept_compauth", 'only means something with receiving_server = "microsoft"')
    types = t.get("refused_attachment_types")
    return SecurityConfig(
        receiving_server=server, authserv_ids=ids, accept_compauth=compauth, migrated=note,
        max_replies_per_address_per_day=integer(t, "security.max_replies_per_address_per_day", 20, 0, 10_000),
        max_new_cases_per_sender_per_day=integer(t, "security.max_new_cases_per_sender_per_day", 5, 1, 10_000_000),
        max_attachment_bytes=integer(t, "security.max_attachment_bytes", 10_000_000, 1_000, 100_000_000),
        refused_attachment_types=tuple(x.lower() for x in texts(t, "security.refused_attachment_types"))
        if types is not None else REFUSED_TYPES,
        parse_budget_seconds=number(t, "security.parse_budget_seconds", 1.5, 0.1, 60.0),
    )


def _receiving_server(t: Mapping[str, Any]) -> tuple[str, tuple[str, ...], str]:
    """(receiving_server, authserv ids, a note when old keys were read) from the table."""
    if "trusted_authserv_ids" in t or "require_authentication" in t:
        return _old_keys(t)
    server = text(t, "security.receiving_server", "")
    if server not in RECEIVING_SERVERS:
        raise ConfigError("security.receiving_server", f"must be one of {', '.join(map(repr, RECEIVING_SERVERS))}; "
                                                       f"got {server!r}")
    ids = tuple(x.strip().lower() for x in texts(t, "security.authserv_id") if x.strip())
    if server == "self-hosted" and not ids:
        raise ConfigError("security.authserv_id", 'needed with receiving_server = "self-hosted": the name your MX '
                                                  'writes first in its Authentication-Results (often its host name)')
    if ids and server != "self-hosted":
        raise ConfigError("security.authserv_id", 'only with receiving_server = "self-hosted" (Microsoft and Google '
                                                  'are known)')
    return server, (GOOGLE_ID,) if server == "google" else ids, ""


def _old_keys(t: Mapping[str, Any]) -> tuple[str, tuple[str, ...], str]:
    key = "trusted_authserv_ids" if "trusted_authserv_ids" in t else "require_authentication"
    if "receiving_server" in t or "authserv_id" in t:
        raise ConfigError(f"security.{key}", "replaced by security.receiving_server: remove it")
    boolean(t, "security.require_authentication", False)
    ids = tuple(x.strip().lower() for x in texts(t, "security.trusted_authserv_ids") if x.strip())
    if not ids:
        raise ConfigError(f"security.{key}", f"replaced by security.receiving_server (an empty list trusted any "
                                             f"From); write {_CHOOSE}")
    if ids == (GOOGLE_ID,):
        return "google", ids, 'read as receiving_server = "google"'
    shown = ", ".join(f'"{i}"' for i in ids)
    return "self-hosted", ids, f'read as receiving_server = "self-hosted", authserv_id = [{shown}]'


def trust_settings(sec: SecurityConfig) -> TrustSettings | None:
    """Whose Authentication-Results count (parser.authres.judge); None when nobody's do
    ("none", or the key left out)."""
    if sec.receiving_server == "microsoft":
        return TrustSettings(microsoft=True, accept_compauth=sec.accept_compauth)
    if sec.receiving_server in ("google", "self-hosted"):
        return TrustSettings(authserv_ids=sec.authserv_ids)
    return None
