"""The private Postfix instance's configuration: one smtpd on loopback with STARTTLS and AUTH
(through Dovecot's SASL), every configured domain delivered to Dovecot over LMTP, and
nothing ever leaving the machine; and its queue directories."""

from __future__ import annotations

import grp
import os
import pwd
import time
from pathlib import Path

from testbed.mailstack.layout import HOST, Layout, Ports
from testbed.mailstack.requirements import POSTFIX_DAEMON_DIR
from testbed.pki import Pki


def write_postfix_config(layout: Layout, ports: Ports, pki: Pki, users: list[str], domains: list[str]) -> None:
    """main.cf, master.cf and the map of mailboxes of the private Postfix instance."""
    etc, spool = layout.postfix_etc, layout.postfix_spool
    first_domain = users[0].split("@", 1)[1].lower()
    (etc / "vmailbox").write_text("".join(f"{u.lower()} OK\n" for u in users))
    main_cf = f"""\
# Private Postfix instance for the escalations integration tests (generated; do not edit).
compatibility_level = 3.6
config_directory = {etc}
queue_directory = {spool}
data_directory = {layout.postfix_data}
meta_directory = /etc/postfix
command_directory = /usr/sbin
daemon_directory = {POSTFIX_DAEMON_DIR}
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = {layout.log_dir}/postfix.log
# maillog_file outside /var is refused (silently, rc=1) unless its prefix is listed here
maillog_file_prefixes = /var, /dev/stdout, {layout.log_dir}
syslog_name = postfix-escalations-test-{layout.base.name}
myhostname = mail.{first_domain}
mydomain = {first_domain}
myorigin = $myhostname
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtp_dns_support_level = disabled
biff = no
append_dot_mydomain = no

# Nothing ever leaves the machine.
relayhost =
relay_domains =
default_transport = error:outbound mail is disabled in the test mail stack
relay_transport = error:outbound mail is disabled in the test mail stack
local_transport = error:local delivery is disabled in the test mail stack
alias_maps =
alias_database =
local_recipient_maps =

virtual_mailbox_domains = {", ".join(domains)}
virtual_mailbox_maps = texthash:{etc}/vmailbox
virtual_transport = lmtp:inet:{HOST}:{ports.lmtp}

smtpd_banner = $myhostname ESMTP
message_size_limit = 52428800
# Tests count on prompt replies and quick retries after a simulated Dovecot outage.
smtpd_error_sleep_time = 0
in_flow_delay = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 5s

smtpd_tls_cert_file = {pki.server_cert}
smtpd_tls_key_file = {pki.server_key}
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_tls_auth_only = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:{HOST}:{ports.auth}
# Authenticated or not (and loopback is NOT trusted), recipients must be in
# virtual_mailbox_domains: relaying anywhere else is refused at RCPT time.
smtpd_relay_restrictions = reject_unauth_destination
"""
    (etc / "main.cf").write_text(main_cf)
    master_cf = f"""\
# service type  private unpriv  chroot  wakeup  maxproc command
{HOST}:{ports.smtp} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""
    (etc / "master.cf").write_text(master_cf)
    # Postfix sleeps (5 x 300 ms) to "let a file cool down" when it was modified within
    # the last second; that hits main.cf in every command and the texthash map in the
    # daemons. Backdate them: the files are complete, nobody is writing them.
    old = time.time() - 60
    for name in ("main.cf", "master.cf", "vmailbox"):
        os.utime(etc / name, (old, old))


def make_queue_dirs(layout: Layout) -> bool:
    """Create the queue and data directories as /etc/postfix/postfix-files specifies
    (what ``post-install create-missing`` would do). False if that file is unusable,
    in which case ``postfix start`` runs its full check and creates them itself."""
    try:
        lines = Path("/etc/postfix/postfix-files").read_text().splitlines()
        pf = pwd.getpwnam("postfix")
        postdrop = grp.getgrnam("postdrop").gr_gid
    except (OSError, KeyError):
        return False
    roots = {"$queue_directory": layout.postfix_spool, "$data_directory": layout.postfix_data}
    made = 0
    for line in lines:
        fields = line.split(":")
        if len(fields) < 5 or fields[1] != "d":
            continue
        root, _, rest = fields[0].partition("/")
        if root not in roots:
            continue
        path = roots[root] / rest if rest else roots[root]
        owner = {"root": 0, "$mail_owner": pf.pw_uid}.get(fields[2])
        group = {"-": 0, "root": 0, "$setgid_group": postdrop}.get(fields[3])
        if owner is None or group is None:
            return False
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, owner, group)
        os.chmod(path, int(fields[4], 8))
        made += 1
    return made >= 10
