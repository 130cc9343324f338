"""`escalations`: the command line of CONTRACT.md §3. Every command exits non-zero with a
one-line reason on bad input."""
from __future__ import annotations

import argparse
import logging
import os
import sys

from tracker.daemon.clock import SystemClock
from tracker.errors import ConfigError, UsageError


def default_config() -> str:
    return os.environ.get("ESCALATIONS_CONFIG", "config.toml")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="escalations", description=(
        "Runs a safeguarding partnership's inter-agency escalation policy by email."))
    ap.add_argument("--config", default=default_config(),
                    help="path to config.toml or a deployment file (default: $ESCALATIONS_CONFIG or ./config.toml)")
    ap.add_argument("--partnership", metavar="ID", help="which partnership, when the deployment serves several")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("demo", help="the whole workflow on the embedded default (no servers), printing a timeline")
    p.add_argument("--dir", default="demo-output", help="where the demo keeps its database and mail (default: demo-output)")
    p = sub.add_parser("run", help="the daemon; --once processes what is waiting, sends what is due, exits")
    p.add_argument("--once", action="store_true")
    sub.add_parser("check", help="validates config.toml and connects to every configured server")
    p = sub.add_parser("db", help="database schema: 'db upgrade' creates or upgrades it, 'db current' shows it")
    p.add_argument("action", choices=("upgrade", "current"))
    sub.add_parser("status", help="is the daemon alive, when did it last reach the mailbox, what waits to be sent")
    p = sub.add_parser("parse", help="prints the JSON for one message, touching nothing")
    p.add_argument("file", metavar="FILE.eml")
    p = sub.add_parser("deadlines", help="prints each stage's due date-time as JSON")
    p.add_argument("--policy", required=True)
    p.add_argument("--raised", required=True, metavar="ISO-DATETIME")
    p = sub.add_parser("policies", help="lists the policy presets; one policy's stages as a table")
    p.add_argument("name", nargs="?")
    p = sub.add_parser("cases", help="list cases")
    p.add_argument("--status", choices=("open", "resolved", "withdrawn"))
    p.add_argument("--stage")
    p.add_argument("--overdue", action="store_true")
    p = sub.add_parser("case", help="one case's full timeline")
    p.add_argument("ref")
    p.add_argument("--verify", action="store_true", help="check the record: its hash chain, and that it covers the "
                   "case's values and people as they are")
    p.add_argument("--against", nargs="+", metavar="FILE", help="with --verify: also check it against the record heads "
                   "people already hold (mails about the case saved as .eml, the weekly digest, or a list of heads)")
    p.add_argument("--export", metavar="FILE", help="write the whole case record as an HTML document to file")
    p = sub.add_parser("digest", help="prints the weekly digest; --send mails it")
    p.add_argument("--week", metavar="YYYY-Www", help="another ISO week, e.g. 2026-W48 (default: this week so far; "
                   "with --send, the last complete week)")
    p.add_argument("--html", metavar="FILE", help="also write the HTML digest to FILE")
    p.add_argument("--send", action="store_true", help="mail it to business support (a complete week, once)")
    p = sub.add_parser("desk", help="serves business support's web desk (sign-in required)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port to listen on (default: 8080)")
    p = sub.add_parser("export", help="resolution records for the Board's annual report, as CSV")
    p.add_argument("--csv", required=True, metavar="FILE")
    p.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="closed on or after this date")
    p.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="closed on or before this date")
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if not args.command:
        ap.print_help()
        return 2
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    from tracker.cli import commands

    args.clock = SystemClock()  # the one real clock of this command, handed to everything it runs
    try:
        return getattr(commands, "cmd_" + args.command)(args) or 0
    except (ConfigError, UsageError) as exc:
        print(f"escalations {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
