"""The body of each `escalations` command that is not about case records (those are in
tracker.cli.records; argument parsing is tracker.cli.options, failures tracker.cli.main)."""
from __future__ import annotations

import logging
import sys
from datetime import datetime
from pathlib import Path

from tracker.cli.terminal import out, safe_json
from tracker.cli.wiring import all_apps, configs, one_app, service_now
from tracker.errors import UsageError


def cmd_parse(args) -> int:
    """The parser's reading of one message (as `python -m parser`), printed terminal-safe."""
    from parser import parse_message

    try:
        with open(args.file, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}; give a message saved as .eml") from None
    print(safe_json(parse_message(raw).to_contract()))
    return 0


def cmd_policies(args) -> int:
    from tracker.policy.build import PRESETS
    from tracker.policy.render import policy_table, presets_summary

    if args.name is None:
        out(presets_summary())
        return 0
    if args.name not in PRESETS:
        raise UsageError(f"no policy preset {args.name!r}; presets are: {', '.join(PRESETS)}")
    out(policy_table(PRESETS[args.name]))
    return 0


def _calendar_for_cli(args):
    """The configured calendar when there is a config file, else the default one."""
    from tracker.policy.calendar import WorkingCalendar

    if Path(args.config).exists():
        from tracker.config.load import load_config

        return load_config(args.config).partnership.calendar
    return WorkingCalendar()


def cmd_deadlines(args) -> int:
    from tracker.policy.build import PRESETS
    from tracker.policy.render import deadlines_json

    if args.policy not in PRESETS:
        raise UsageError(f"no policy preset {args.policy!r}; presets are: {', '.join(PRESETS)}")
    calendar = _calendar_for_cli(args)
    try:
        raised = datetime.fromisoformat(args.raised)
    except ValueError:
        raise UsageError(f"--raised {args.raised!r} is not an ISO date-time, e.g. 2026-12-24T16:00") from None
    if not 1900 < raised.year < 9000:  # bank holidays are known, and date arithmetic holds, well inside these
        raise UsageError(f"--raised {args.raised!r}: give a date between the years 1901 and 8999")
    raised = calendar.assume_local(raised)
    try:
        days = deadlines_json(PRESETS[args.policy], calendar, raised)
    except (ValueError, OverflowError) as exc:  # outside the years the calendar can count in
        raise UsageError(f"--raised {args.raised!r}: {exc}") from None
    print(safe_json(days))
    return 0


def cmd_run(args) -> int:
    from tracker.daemon.logs import configure
    from tracker.incoming.authenticity import startup_warning

    apps = all_apps(args)
    configure(apps[0].config.log_level)
    for app in apps:
        if warning := startup_warning(app.partnership.security):
            logging.getLogger("tracker.daemon").warning("%s", warning, extra={"partnership": app.partnership.id})
    if args.once:
        from tracker.daemon.once import run_once

        for app in apps:
            out(f"{app.partnership.id}: {run_once(app)}")
        return 0
    if args.now_at is not None:
        raise UsageError("--now rehearses one pass: give it with `run --once` (the daemon runs on real time)")
    from tracker.daemon.runner import run_all

    run_all(apps)
    return 0


def cmd_check(args) -> int:
    from tracker.cli.check import check

    return check(args.config, args.clock, args.partnership)


def cmd_db(args) -> int:
    from tracker.storage import migrate
    from tracker.storage.db import make_engine

    for url in dict.fromkeys(c.database_url for c in configs(args)):
        engine = make_engine(url)
        if args.action == "current":
            out(f"schema {migrate.current(engine) or 'empty'} (newest {migrate.head()})")
            continue
        before, after = migrate.upgrade(engine)
        out(f"schema {before or 'empty'} -> {after}" if before != after else f"schema already at {after}")
    return 0


def cmd_status(args) -> int:
    from tracker.daemon.status import report

    healthy = True
    args.now_at = None  # the heartbeat is the daemon's, on real time, whatever --now rehearses
    for app in all_apps(args, reading=True):
        ok, line = report(app)
        out(f"{app.partnership.id}: {line}")
        healthy = healthy and ok
    return 0 if healthy else 1


def cmd_demo(args) -> int:
    from tracker.cli.demo import run_demo
    from tracker.policy.calendar import WorkingCalendar

    return run_demo(Path(args.dir), sys.stdout, args.clock, now=service_now(args, WorkingCalendar()))


def cmd_desk(args) -> int:
    from tracker.desk.serve import serve
    from tracker.daemon.logs import configure

    app = one_app(args, reading=True)
    configure(app.config.log_level)
    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port} is not a port number (1 to 65535)")
    serve(app, args.host, args.port)
    return 0
