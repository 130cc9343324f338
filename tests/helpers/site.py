"""A config.toml for tests that drive the command line on a Maildir site: the partnership of
tests/helpers/harness.py (same addresses and partner domains), its state in `base`."""
from __future__ import annotations

from pathlib import Path


def site_config(base: Path, url: str | None = None, pid: str = "test", policy: str = "wolverhampton",
                heartbeat: bool = True, security: bool = True) -> str:
    """`url`: the database (default a SQLite file in `base`). Maildir mail carries no
    receiving server's verdict, so senders are believed ("none", said explicitly); without
    `security` the receiving server is left unset (commands that only read the record)."""
    return (f'[partnership]\nid = "{pid}"\naddress = "escalations@partnership.example.test"\n'
            'business_support = ["business@partnership.example.test"]\n'
            'partner_domains = ["partnership.example.test", "council.example.test", "health.example.test"]\n'
            f'[policy]\npreset = "{policy}"\n'
            f'[database]\nurl = "{url or f"sqlite:///{base}/cases.db"}"\nurl_env = ""\n'
            + ('[security]\nreceiving_server = "none"\n' if security else "")
            + f'[inbox]\npath = "{base}/inbox"\n[outgoing]\npath = "{base}/sent"\n'
            + (f'[daemon]\nheartbeat_file = "{base}/heartbeat.json"\n' if heartbeat else ""))
