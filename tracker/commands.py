"""The body of each `escalations` command (argument parsing lives in tracker.cli)."""
from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, select

from tracker.cli import UsageError


def _app(args):
    from tracker.app import App
    from tracker.config import load_config

    return App.from_config(load_config(args.config))


def cmd_parse(args) -> int:
    from parser import parse_message

    try:
        raw = Path(args.file).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    print(json.dumps(parse_message(raw).to_contract(), indent=2, ensure_ascii=False))
    return 0


def cmd_policies(args) -> int:
    from tracker.policy import PRESETS, policy_table, presets_summary

    if args.name is None:
        print(presets_summary())
        return 0
    if args.name not in PRESETS:
        raise UsageError(f"no policy preset {args.name!r}; presets are: {', '.join(PRESETS)}")
    print(policy_table(PRESETS[args.name]))
    return 0


def _calendar_for_cli(args):
    """The configured calendar when there is a config file, else the default one."""
    from tracker.calendar import WorkingCalendar

    if Path(args.config).exists():
        from tracker.config import load_config

        return load_config(args.config).partnership.calendar
    return WorkingCalendar()


def cmd_deadlines(args) -> int:
    from tracker.policy import PRESETS, deadlines_json

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
    app = _app(args)
    if args.once:
        handled, sent = app.run_once()
        print(f"handled {handled} message(s), sent {sent} mail(s)")
        return 0
    from tracker.daemon import Daemon

    Daemon(app).run()
    return 0


def cmd_check(args) -> int:
    from tracker.check import check

    return check(args.config)


def cmd_cases(args) -> int:
    from tracker.views import case_list

    app = _app(args)
    with Session(app.engine) as s:
        print(case_list(s, app.partnership, app.clock(), status=args.status, stage=args.stage,
                        overdue=args.overdue))
    return 0


def cmd_case(args) -> int:
    from tracker import record
    from tracker.models import Case
    from tracker.views import timeline

    app = _app(args)
    with Session(app.engine) as s:
        case = s.exec(select(Case).where(Case.ref == args.ref)).first()
        if case is None:
            raise UsageError(f"no case {args.ref}")
        if args.verify:
            result = record.verify(s, case)
            print(f"{case.ref}: {'record intact' if result.ok else 'RECORD ALTERED: ' + result.problem}"
                  f" ({result.entries} entries)")
            return 0 if result.ok else 1
        if args.export:
            from tracker.cases import parties
            from tracker.documents import case_record

            Path(args.export).write_bytes(case_record(s, app.partnership, case, parties(s, case)))
            print(f"{case.ref}: record written to {args.export}")
            return 0
        print(timeline(s, app.partnership, case))
    return 0


def cmd_digest(args) -> int:
    raise UsageError("the weekly digest is not built yet (issue: weekly digest and Board records)")


def cmd_demo(args) -> int:
    from tracker.demo import run_demo

    return run_demo(Path(args.dir), sys.stdout)
