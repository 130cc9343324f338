"""Dovecot's configuration for a mail stack: IMAPS, IMAP + STARTTLS, LMTP and a SASL listener
for Postfix on loopback, virtual users from a passwd-file, and optionally the oauth2 passdb."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from testbed.mailstack.layout import HOST, Layout, Ports
from testbed.mailstack.requirements import MAIL_USER, MailOwner
from testbed.pki import Pki


@dataclass(frozen=True)
class DovecotOAuth2:
    """Turns on SASL XOAUTH2/OAUTHBEARER (IMAP, and SMTP through Dovecot SASL) next to the
    passwords: Dovecot's oauth2 passdb asks *introspection_url* (RFC 7662, POST) about each
    bearer token and signs in as the ``username`` it answers, if ``active`` is true."""

    introspection_url: str
    ca_file: Path | None = None  # when the endpoint is https with a private CA


def write_dovecot_config(layout: Layout, ports: Ports, pki: Pki, owner: MailOwner, users: list[str],
                         password: str, oauth2: DovecotOAuth2 | None) -> None:
    """dovecot.conf and its passwd-file of users (every one with *password*)."""
    uid, gid, group = owner
    b = layout.base
    postmaster = f"postmaster@{users[0].split('@', 1)[1]}"
    # With oauth2 on, each passdb answers only its own mechanisms (a token is no password).
    password_mechanisms = "\n  mechanisms = plain login" if oauth2 else ""
    # ...so LMTP's user lookup (no mechanism) finds no passdb; Postfix already checked the user.
    all_users = " allow_all_users=yes" if oauth2 else ""
    conf = f"""\
# Private Dovecot instance for the escalations integration tests (generated; do not edit).
instance_name = escalations-test-{b.name}
base_dir = {layout.dovecot_run}
state_dir = {b}/state/dovecot
protocols = imap lmtp
listen = {HOST}
log_path = {layout.log_dir}/dovecot.log
info_log_path = {layout.log_dir}/dovecot.log
auth_verbose = yes
auth_verbose_passwords = no
# Wrong-password tests must not slow the suite: no 2 s failure delay, and no anvil
# "auth penalty" (it would delay every later login from 127.0.0.1 by 2-15 s, right or
# wrong; mode 0 on its socket is Dovecot's documented way to disable it, see below).
auth_failure_delay = 0
# Each imap process's title names its session's command ("IDLE" while idling), so a test can
# wait until a client is back in IDLE instead of sleeping (MailStack.idle_sessions).
verbose_proctitle = yes

ssl = yes
ssl_cert = <{pki.server_cert}
ssl_key = <{pki.server_key}
ssl_min_protocol = TLSv1.2
auth_mechanisms = plain login{" xoauth2 oauthbearer" if oauth2 else ""}
# Loopback counts as "secured" for Dovecot, so plaintext LOGIN would be accepted there
# without TLS; clients of this stack use IMAPS or STARTTLS anyway.
disable_plaintext_auth = yes

default_internal_user = {MAIL_USER}
default_internal_group = {group}
default_login_user = {MAIL_USER}
first_valid_uid = {uid}
last_valid_uid = {uid}
first_valid_gid = 0
mail_location = maildir:~/Maildir
mail_fsync = optimized
# The service under test creates its own folders (Processed, Quarantine): no autocreate.
namespace inbox {{
  inbox = yes
  separator = /
}}

{_oauth2_passdb(layout, oauth2)}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu {layout.etc}/users{password_mechanisms}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={layout.mail_dir}/%Ld/%Ln{all_users}
}}

protocol imap {{
  # Tests open many sessions per user (daemon + helpers); the default 10 is too few.
  mail_max_userip_connections = 100
}}
protocol lmtp {{
  postmaster_address = {postmaster}
}}

service imap-login {{
  chroot =
  inet_listener imap {{
    address = {HOST}
    port = {ports.imap}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {ports.imaps}
    ssl = yes
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = {HOST}
    port = {ports.lmtp}
  }}
}}
service auth {{
  # SASL for Postfix smtpd (smtpd_sasl_type = dovecot)
  inet_listener auth-postfix {{
    address = {HOST}
    port = {ports.auth}
  }}
}}
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service stats {{
  chroot =
}}
"""
    layout.dovecot_conf.write_text(conf)
    users_file = layout.etc / "users"
    users_file.write_text("".join(f"{u}:{{PLAIN}}{password}\n" for u in users))
    os.chown(users_file, 0, gid)
    os.chmod(users_file, 0o640)


def _oauth2_passdb(layout: Layout, oauth2: DovecotOAuth2 | None) -> str:
    """Dovecot's oauth2 passdb for the bearer-token mechanisms (none without ``oauth2``)."""
    if oauth2 is None:
        return ""
    ext = layout.etc / "dovecot-oauth2.conf.ext"
    ca = f"tls_ca_cert_file = {oauth2.ca_file}\n" if oauth2.ca_file else ""
    ext.write_text(
        f"introspection_url = {oauth2.introspection_url}\nintrospection_mode = post\n"
        "username_attribute = username\nactive_attribute = active\nactive_value = true\n"
        f"timeout_msecs = 10000\n{ca}"
    )
    return f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {ext}\n}}\n"
