"""The argument tree of `escalations` (CONTRACT.md §3). Every option says what it does:
tests/test_cli_errors.py walks this tree and fails on an option without help."""
from __future__ import annotations

import argparse
import os
import sys

from tracker.cli.terminal import safe


def default_config() -> str:
    return os.environ.get("ESCALATIONS_CONFIG", "config.toml")


class Parser(argparse.ArgumentParser):
    """argparse, whose mistakes are one line (not the usage block) naming where to look."""

    def error(self, message: str):  # noqa: D401 - argparse's hook
        print(safe(f"{self.prog}: {message} (see {self.prog} --help)"), file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    ap = Parser(prog="escalations", description=(
        "Runs a safeguarding partnership's inter-agency escalation policy by email."))
    ap.add_argument("--config", default=default_config(),
                    help="path to config.toml or a deployment file (default: $ESCALATIONS_CONFIG or ./config.toml)")
    ap.add_argument("--partnership", metavar="ID", help="which partnership, when the deployment serves several")
    ap.add_argument("--now", metavar="ISO-DATETIME", help="act as if it were this moment (rehearsing a policy on "
                    "a trial database): deadlines, reminders, the weekly digest and retention fall due by it; "
                    "without an offset it is read in the partnership's time zone")
    ap.add_argument("--debug", action="store_true", help="on a failure, show the Python traceback as well")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    p = sub.add_parser("demo", help="the whole workflow on the embedded default (no servers), printing a timeline")
    p.add_argument("--dir", default="demo-output", help="where the demo keeps its database and mail (default: "
                   "demo-output); it also writes a config.toml there for the commands that follow")
    p = sub.add_parser("run", help="the daemon; --once processes what is waiting, sends what is due, exits")
    p.add_argument("--once", action="store_true", help="do what the daemon's schedule would have done by now "
                   "(the inbox, the deadline sweep, the weekly digest if due, retention, sending), then exit: "
                   "for a cron job or a systemd timer")
    sub.add_parser("check", help="validates config.toml and connects to every configured server")
    p = sub.add_parser("db", help="database schema: 'db upgrade' creates or upgrades it, 'db current' shows it")
    p.add_argument("action", choices=("upgrade", "current"), help="upgrade: create or upgrade the schema; "
                   "current: show its version")
    sub.add_parser("status", help="is the daemon alive, when did it last reach the mailbox, what waits to be sent")
    p = sub.add_parser("parse", help="prints the JSON for one message, touching nothing")
    p.add_argument("file", metavar="FILE.eml", help="one message as saved from a mail client (.eml)")
    p = sub.add_parser("deadlines", help="prints each stage's due date-time as JSON")
    p.add_argument("--policy", required=True, help="a policy preset (see `escalations policies`)")
    p.add_argument("--raised", required=True, metavar="ISO-DATETIME", help="when the escalation was raised, e.g. "
                   "2026-12-24T16:00; without an offset it is read in the partnership's time zone")
    p = sub.add_parser("policies", help="lists the policy presets; one policy's stages as a table")
    p.add_argument("name", nargs="?", help="a preset's name: its stages as a table")
    p = sub.add_parser("cases", help="list cases")
    p.add_argument("--status", choices=("open", "resolved", "withdrawn"), help="only cases with this status")
    p.add_argument("--stage", help="only cases at this stage, as the policy names it (1, 2, exceptional, ...)")
    p.add_argument("--overdue", action="store_true", help="only open cases whose stage is past its due time")
    p = sub.add_parser("case", help="one case's full timeline")
    p.add_argument("ref", help="the case reference, e.g. ESC-2026-0042 (any case)")
    p.add_argument("--verify", action="store_true", help="check the record: its hash chain, and that it covers the "
                   "case's values and people as they are")
    p.add_argument("--against", nargs="+", metavar="FILE", help="with --verify: also check it against the record heads "
                   "people already hold (mails about the case saved as .eml, the weekly digest, or a list of heads)")
    p.add_argument("--export", metavar="FILE", help="write the whole case record as an HTML document to FILE "
                   "(created readable by its owner only)")
    p = sub.add_parser("digest", help="prints the weekly digest; --send mails it")
    p.add_argument("--week", metavar="YYYY-Www", help="another ISO week, e.g. 2026-W48 (default: this week so far; "
                   "with --send, the last complete week)")
    p.add_argument("--html", metavar="FILE", help="also write the HTML digest to FILE (owner-readable only)")
    p.add_argument("--send", action="store_true", help="mail it to business support (a complete week, once)")
    p = sub.add_parser("desk", help="serves business support's web desk (sign-in required)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port to listen on (default: 8080)")
    p = sub.add_parser("export", help="resolution records for the Board's annual report, as CSV")
    p.add_argument("--csv", required=True, metavar="FILE", help="write the records to FILE (owner-readable only)")
    p.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="closed on or after this date")
    p.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="closed on or before this date")
    return ap
