"""A real, private mail stack for integration tests and benchmarks: Dovecot + Postfix on loopback.

* Dovecot 2.3: IMAPS, IMAP (+STARTTLS), LMTP, and a SASL auth listener for Postfix.
  Virtual users from a passwd-file, Maildir under ``base/mail/<domain>/<local>/Maildir``.
* Postfix 3.x: one smtpd on loopback with STARTTLS and AUTH (PLAIN/LOGIN via Dovecot SASL,
  only after STARTTLS), delivering every configured domain to Dovecot over LMTP. Nothing
  can leave the machine: loopback-only, no relayhost, ``default_transport``/``relay_transport``
  are ``error:``, and recipients outside the configured domains are refused at RCPT time.
* TLS with a throw-away CA made per run (``testbed.pki``); clients verify against
  ``ca_file`` with hostname checking on.

Everything (configs, keys, mail, queue, pid files, logs) lives under ``base``; the only
change outside it is one entry in ``alternate_config_directories`` of /etc/postfix/main.cf,
which Postfix requires for ``postfix -c DIR`` and which ``stop()`` removes again.

Needs root (Postfix refuses to start otherwise) and the Debian packages installed by
``scripts/install-system-packages.sh``. ``base`` must be traversable by the ``vmail`` and
``postfix`` users: use ``testbed.dirs.server_dir()`` (``/tmp``, mode 755), not pytest's
``tmp_path`` (its parent is 0700).

The modules, by job:

* ``requirements``  what the machine must have (root, the binaries, the mail user);
* ``layout``        where everything of one stack lives under ``base``, and its ports;
* ``dovecot_conf``, ``postfix_conf``  the two servers' configuration files;
* ``system_postfix`` the one edit of /etc/postfix/main.cf, under a lock between parallel runs;
* ``processes``     starting, waiting for and stopping daemonised masters;
* ``client``        the API tests use: IMAP and SMTP sessions, sending, reading, clearing;
* ``stack``         ``MailStack``, which puts them together.
"""

from .dovecot_conf import DovecotOAuth2
from .requirements import INSTALL_HINT, MailStackError, missing_requirements
from .stack import MailStack

__all__ = ["MailStack", "MailStackError", "DovecotOAuth2", "missing_requirements", "INSTALL_HINT"]
