"""The commands about cases and their records: `cases`, `case`, `digest`, `export`. What
they print goes through tracker.cli.terminal (it holds what people wrote); the files they
write hold case content and are created owner-only."""
from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlmodel import Session, select

from tracker.cli.terminal import err, out
from tracker.cli.wiring import one_app
from tracker.errors import CommandFailed, UsageError


def stage_key(policy, given: str) -> str:
    """`given` as the policy names a stage (in any case), or a UsageError listing them."""
    keys = [s.key for s in policy.stages]
    for key in keys:
        if key.lower() == given.strip().lower():
            return key
    raise UsageError(f"policy {policy.name} has no stage {given!r}; its stages are: {', '.join(keys)}")


def cmd_cases(args) -> int:
    from tracker.cli.views import case_list

    app = one_app(args, reading=True)
    stage = stage_key(app.partnership.policy, args.stage) if args.stage else None
    with Session(app.engine) as s:
        out(case_list(s, app.partnership, app.now(), status=args.status, stage=stage, overdue=args.overdue))
    return 0


def case_ref(given: str) -> str:
    """A case reference as written on the case (ESC-2026-0042), whatever case it was typed in."""
    return given.strip().upper()


def cmd_case(args) -> int:
    from tracker.storage.models import Case
    from tracker.cli.views import timeline

    app = one_app(args, reading=True)
    if args.against and not args.verify:
        raise UsageError("--against checks the record: give it with --verify")
    ref = case_ref(args.ref)
    heads = _heads(args.against, ref) if args.against else []
    with Session(app.engine) as s:
        case = s.exec(select(Case).where(Case.ref == ref, Case.partnership == app.partnership.id)).first()
        if case is None:
            raise UsageError(f"no case {ref} in partnership {app.partnership.id}; `escalations cases` lists them")
        verified = _verify(s, case, heads) if args.verify else 0
        if args.export:  # with --verify too: the document itself says whether the record is intact
            from tracker.cases.state import people_of
            from tracker.outgoing.documents import case_record

            write_private(args.export, case_record(s, app.partnership, case, people_of(s, case)))
            out(f"{case.ref}: record written to {args.export}")
        elif not args.verify:
            out(timeline(s, app.partnership, case))
    return verified


def _verify(s: Session, case, heads: list[tuple[int, str, str]]) -> int:
    """CONTRACT.md §5: one line; `RECORD ALTERED: ...` and exit 1 for any change."""
    from tracker.cases import record

    result = record.verify(s, case)
    problem = result.problem or (record.against(s, case, heads) if heads else None)
    if problem:
        out(f"RECORD ALTERED: {case.ref}: {problem}")
        return 1
    held = f"; it agrees with the {len(heads)} head(s) held in {', '.join(sorted({h[2] for h in heads}))}" \
        if heads else ""
    out(f"{case.ref}: record intact ({record.head_text(case.ref, result.entries, result.head)}){held}")
    return 0


def _heads(files: list[str], ref: str) -> list[tuple[int, str, str]]:
    """(entries, short hash, file) for each head of `ref` in `files` (mails or lists of heads)."""
    from parser.anchor import heads_in

    found = []
    for name in files:
        try:
            raw = Path(name).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {name}: {exc.strerror}") from None
        found += [(seq, short, name) for r, seq, short in heads_in(raw) if r == ref]
    if not found:
        raise UsageError(f"{', '.join(files)} hold(s) no record head of {ref} (a line like '{ref} #7 3f9a1c0e5b7d2a48')")
    return found


def write_private(path: str, data: bytes) -> None:
    """Write a file only its owner can read: created 0600 by os.open itself, so there is no
    moment when another user could open it. A regular file that was already there is made
    0600 before a byte is written (os.open's mode applies only to a file it creates);
    anything else (a device, a pipe) is written as it is, never re-permissioned."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise CommandFailed(f"cannot write {path}: {exc.strerror}; name a file in a folder that exists "
                            "and that you may write to") from None
    with os.fdopen(fd, "wb") as f:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.fchmod(fd, 0o600)
        f.write(data)


def cmd_digest(args) -> int:
    from datetime import timedelta

    from tracker.digest import weekly as digest

    app = one_app(args, reading=True)
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
    if args.html:  # first: a path it cannot write fails before anything is printed
        write_private(args.html, digest.render_html(d, app.composer).encode("utf-8"))
    out(digest.render_text(d, app.composer))
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
    err(f"digest for {week} sent ({sent} mail(s))")


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

    start, end = _date(args.start, "--from"), _date(args.end, "--to")
    if start and end and end < start:
        raise UsageError(f"--to {end} is before --from {start}: give the earlier date with --from")
    app = one_app(args, reading=True)
    with Session(app.engine) as s:
        rows = digest.export_rows(s, app.partnership, start, end)
    write_private(args.csv, digest.resolution_csv(rows))
    out(f"{len(rows)} resolution record(s) written to {args.csv}")
    return 0


