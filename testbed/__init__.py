"""Real servers on loopback for the tests and the benchmarks.

A private Dovecot + Postfix (``testbed.mailstack``), PostgreSQL (``testbed.postgres``) and
OAuth2 identity provider (``testbed.oauth_server``), each under a directory of its own with a
throw-away certificate authority (``testbed.pki``); and ``wait_until``, for everything that
waits for one of them. Neither ``tests/`` nor ``bench/``: both import it, neither imports
the other. It is run from the checkout (pytest's rootdir, or a bench's ``sys.path`` entry
for the project root), never installed.
"""
