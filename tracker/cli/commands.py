"""The body of each `escalations` command (argument parsing lives in tracker.cli.main)."""
from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, select

from tracker.errors import UsageError


def _configs(args):
    from tracker.config.deployment import load_deployment

    return load_deployment(args.config)


def _app(args):
    from tracker.daemon.app import App
    from tracker.config.deployment import choose

    return App.from_config(choose(_configs(args), args.partnership), args.clock)


def _apps(args) -> list:
    """Every partnership of the deployment, or the one named with --partnership."""
    from tracker.daemon.app import App
    from tracker.config.deployment import choose

    configs = _configs(args)
    if args.partnership:
        configs = [choose(configs, args.partnership)]
    return [App.from_config(c, args.clock) for c in configs]


def cmd_parse(args) -> int:
    """The parser's own command line (`python -m parser`): one JSON, one way."""
    from parser.__main__ import main as parse_main

    return parse_main([args.file])


def cmd_policies(args) -> int:
    from tracker.policy.build import PRESETS
    from tracker.policy.render import policy_table, presets_summary

    if args.name is None:
        print(presets_summary())
        return 0
    if args.name not in PRESETS:
        raise UsageError(f"no policy preset {args.name!r}; presets are: {', '.join(PRESETS)}")
    print(policy_table(PRESETS[args.name]))
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
    raised = calendar.assume_local(raised)
    print(json.dumps(deadlines_json(PRESETS[args.policy], calendar, raised), indent=2))
    return 0


def cmd_run(args) -> int:
    from tracker.daemon.logs import configure

    from tracker.incoming.authenticity import startup_warning

    apps = _apps(args)
    configure(apps[0].config.log_level)
    for warning in filter(None, (startup_warning(app.partnership.security) for app in apps)):
        logging.getLogger("tracker.daemon").warning("%s", warning)
    if args.once:
        for app in apps:
            handled, sent = app.run_once()
            print(f"{app.partnership.id}: handled {handled} message(s), sent {sent} mail(s)")
        return 0
    from tracker.daemon.runner import run_all

    run_all(apps)
    return 0


def cmd_check(args) -> int:
    from tracker.cli.check import check

    return check(args.config, args.clock, args.partnership)


def cmd_db(args) -> int:
    from tracker.storage import migrate
    from tracker.storage.db import make_engine

    for url in dict.fromkeys(c.database_url for c in _configs(args)):
        engine = make_engine(url)
        if args.action == "current":
            print(f"schema {migrate.current(engine) or 'empty'} (newest {migrate.head()})")
            continue
        before, after = migrate.upgrade(engine)
        print(f"schema {before or 'empty'} -> {after}" if before != after else f"schema already at {after}")
    return 0


def cmd_status(args) -> int:
    from tracker.daemon.status import report

    healthy = True
    for app in _apps(args):
        ok, line = report(app)
        print(f"{app.partnership.id}: {line}")
        healthy = healthy and ok
    return 0 if healthy else 1


def cmd_cases(args) -> int:
    from tracker.cli.views import case_list

    app = _app(args)
    with Session(app.engine) as s:
        print(case_list(s, app.partnership, app.now(), status=args.status, stage=args.stage,
                        overdue=args.overdue))
    return 0


def cmd_case(args) -> int:
    from tracker.storage.models import Case
    from tracker.cli.views import timeline

    app = _app(args)
    if args.against and not args.verify:
        raise UsageError("--against checks the record: give it with --verify")
    heads = _heads(args.against, args.ref) if args.against else []
    with Session(app.engine) as s:
        case = s.exec(select(Case).where(Case.ref == args.ref, Case.partnership == app.partnership.id)).first()
        if case is None:
            raise UsageError(f"no case {args.ref}")
        if args.verify:
            return _verify(s, case, heads)
        if args.export:
            from tracker.cases.state import people_of
            from tracker.outgoing.documents import case_record

            write_private(args.export, case_record(s, app.partnership, case, people_of(s, case)))
            print(f"{case.ref}: record written to {args.export}")
            return 0
        print(timeline(s, app.partnership, case))
    return 0


def _verify(s: Session, case, heads: list[tuple[int, str, str]]) -> int:
    """CONTRACT.md §5: one line; `RECORD ALTERED: ...` and exit 1 for any change."""
    from tracker.cases import record

    result = record.verify(s, case)
    problem = result.problem or (record.against(s, case, heads) if heads else None)
    if problem:
        print(f"RECORD ALTERED: {case.ref}: {problem}")
        return 1
    held = f"; it agrees with the {len(heads)} head(s) held in {', '.join(sorted({h[2] for h in heads}))}" \
        if heads else ""
    print(f"{case.ref}: record intact ({record.head_text(case.ref, result.entries, result.head)}){held}")
    return 0


def _heads(files: list[str], ref: str) -> list[tuple[int, str, str]]:
    """(entries, short hash, file) for each head of `ref` in `files` (mails or lists of heads)."""
    from parser.anchor import heads_in

    out = []
    for name in files:
        try:
            raw = Path(name).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {name}: {exc.strerror}") from None
        out += [(seq, short, name) for r, seq, short in heads_in(raw) if r == ref]
    if not out:
        raise UsageError(f"{', '.join(files)} hold(s) no record head of {ref} (a line like '{ref} #7 3f9a1c0e5b7d2a48')")
    return out


def write_private(path: str, data: bytes) -> None:
    """Write a file only its owner can read (0600), whatever was there before: exported case
    documents and records carry what the case is about."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(data)


def cmd_digest(args) -> int:
    from datetime import timedelta

    from tracker.digest import weekly as digest

    app = _app(args)
    p = app.partnership
    now = app.now()
    today = p.calendar.local(now)
    week = args.week or digest.week_of(today - timedelta(days=7) if args.send else today)
    try:
        digest.iso_week(week)
        with Session(app.engine) as s:
            d = digest.build_digest(s, p, week, now)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    print(digest.render_text(d, app.composer))
    if args.html:
        write_private(args.html, digest.render_html(d, app.composer).encode("utf-8"))
    if args.send:
        _send_digest(app, week)
    return 0


def _send_digest(app, week: str) -> None:
    """Queue `week`'s digest (once only) and send it now."""
    import asyncio

    from tracker.digest import weekly as digest
    from tracker.storage.db import transaction

    try:
        with transaction(app.engine) as s:
            queued = digest.queue_digest(s, app.context(), week)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not queued:
        raise UsageError(f"the digest for {week} has already been sent")
    sent = asyncio.run(app.send_all())
    print(f"digest for {week} sent ({sent} mail(s))", file=sys.stderr)


def _date(value: str | None, flag: str):
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{flag} {value!r} is not a date like 2026-04-01") from None


def cmd_export(args) -> int:
    from tracker.digest import weekly as digest

    app = _app(args)
    start, end = _date(args.start, "--from"), _date(args.end, "--to")
    with Session(app.engine) as s:
        rows = digest.export_rows(s, app.partnership, start, end)
    write_private(args.csv, digest.resolution_csv(rows))
    print(f"{len(rows)} resolution record(s) written to {args.csv}")
    return 0


def cmd_demo(args) -> int:
    from tracker.cli.demo import run_demo

    return run_demo(Path(args.dir), sys.stdout, args.clock)


def cmd_desk(args) -> int:
    from tracker.desk.serve import serve
    from tracker.daemon.logs import configure

    app = _app(args)
    configure(app.config.log_level)
    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port} is not a port number (1 to 65535)")
    serve(app, args.host, args.port)
    return 0
