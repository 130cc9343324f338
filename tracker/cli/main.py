"""`escalations`: the command line of CONTRACT.md §3. Every failure is one line that says why
and what to do, with a non-zero exit (2: the command was given something wrong; 1: it could
not do it); the Python traceback only with `--debug`."""
from __future__ import annotations

import logging
import os
import sys
from datetime import datetime

from tracker.cli.options import build_parser
from tracker.cli.terminal import err
from tracker.daemon.clock import SystemClock
from tracker.errors import CommandFailed, ConfigError, UsageError

EXIT_BROKEN_PIPE = 141  # what a shell reports for a program ended by SIGPIPE: `... | head`


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    try:
        args = ap.parse_args(argv)
    except SystemExit as exc:  # --help, or a mistake argparse said in one line (options.Parser)
        return exc.code if isinstance(exc.code, int) else 2
    if not args.command:
        ap.print_help()
        return 2
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    args.clock = SystemClock()  # the one real clock of this command, handed to everything it runs
    try:
        args.now_at = _now(args.now)
        return _dispatch(args) or 0
    except BrokenPipeError:
        return _broken_pipe()
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - every failure is one line; the traceback on request
        if args.debug:
            raise
        code, line = describe(exc, args)
        try:
            err(f"escalations {args.command}: {line}")
        except BrokenPipeError:
            pass
        return code


def _dispatch(args) -> int:
    from tracker.cli import commands, records

    name = "cmd_" + args.command
    command = getattr(commands, name, None) or getattr(records, name)
    try:
        return command(args)
    finally:
        sys.stdout.flush()  # a closed pipe shows here, inside the handler, not at exit


def _now(text: str | None) -> datetime | None:
    """--now as given (an offset, or none: read later in the partnership's zone); said on stderr."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--now {text!r} is not an ISO date-time, e.g. 2027-01-04T09:00") from None
    err(f"escalations: the clock is set to {moment.isoformat()} (--now){'' if moment.tzinfo else ', in the partnership time zone'}: "
        "deadlines, reminders, the weekly digest and retention fall due by it")
    return moment


def describe(exc: BaseException, args) -> tuple[int, str]:
    """(exit code, one line) for any failure."""
    if isinstance(exc, ConfigError):
        if exc.file == "config.toml" and args.config:
            exc = exc.in_file(args.config)  # a value checked after loading: the file it came from
        return 2, str(exc)
    if isinstance(exc, UsageError):
        return 2, str(exc)
    if isinstance(exc, CommandFailed):
        return 1, str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return 1, f"{where}{exc.strerror}"
    import sqlalchemy as sa

    if isinstance(exc, sa.exc.SQLAlchemyError):
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return 1, (f"the database failed: {type(exc).__name__}: {reason}; "
                   "`escalations check` tests it, `escalations db upgrade` creates its schema")
    text = str(exc).splitlines()[0] if str(exc) else ""
    return 1, f"unexpected {type(exc).__name__}{': ' + text if text else ''} (run with --debug for the traceback)"


def _broken_pipe() -> int:
    """The reader went away (`| head`): stop quietly, and let nothing print at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return EXIT_BROKEN_PIPE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
