"""One path for every message: inbox → read → triage → one transaction → move.

However many messages wait, they go the same way: a batch of up to MOVE_BATCH is read and
triaged (tracker/incoming/rules.py), recorded with one INSERT, each handled in order
(tracker/incoming/handling.py; the intakes that open cases are opened together at the
end), and the records completed with one UPDATE, all in one transaction. A single
message is a batch of one. The messages are moved to Processed or Quarantine only after
that transaction has committed: if the process dies before the move, the next run finds
them again, sees they were recorded (by mailbox key or by the SHA-256 of their bytes) and
only moves them.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from typing import Callable

import sqlalchemy as sa
from sqlmodel import Session, or_, select

from mailer.inbox import Inbox, Incoming
from parser import Head, ParsedMessage, read_head
from tracker.cases.context import Context
from tracker.incoming.handling import PROCESSED, QUARANTINE, Openings, Outcome, handle
from tracker.incoming.reading import IN_PROCESS, Reader, WorkerUnavailable
from tracker.incoming.rules import INTAKE, head_detail, judge_head, triage
from tracker.storage.db import transaction
from tracker.storage.models import InboundMessage

log = logging.getLogger(__name__)

MOVE_BATCH = 50
__all__ = ["PROCESSED", "QUARANTINE", "MOVE_BATCH", "ingest", "process", "process_batch"]


@dataclass(frozen=True)
class _Read:
    """A message of the batch, read: its place, bytes' hash, header block, reading (None if
    left unread: judged on its head alone), way."""

    place: int
    item: Incoming
    sha: str
    head: Head
    msg: ParsedMessage | None
    way: str


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def ingest(engine: sa.Engine, make_ctx: Callable[[], Context], inbox: Inbox, folders: dict[str, str],
           should_stop: Callable[[], bool] = lambda: False, reader: Reader = IN_PROCESS) -> int:
    """Handle everything waiting in `inbox`; returns how many messages were moved.
    `should_stop` is asked between messages, so a stop finishes the batch in hand. Bodies
    are parsed by `reader` (tracker/incoming/reading.py), a batch's in one call."""
    moved = 0
    batch: list[Incoming] = []
    for item in inbox.pending():
        if should_stop():
            break
        batch.append(item)
        if len(batch) >= MOVE_BATCH:
            moved += _handle(engine, make_ctx, inbox, folders, batch, reader)
            batch = []
    return moved + (_handle(engine, make_ctx, inbox, folders, batch, reader) if batch else 0)


def process_batch(engine: sa.Engine, make_ctx: Callable[[], Context], mailbox: str,
                  items: list[Incoming], reader: Reader = IN_PROCESS) -> list[str]:
    """Record and act on `items` in one transaction; where each goes ('processed' or
    'quarantine'). Any error, or another instance racing us, rolls the whole batch back and it
    is done again one message at a time, where a failing message is shunted alone."""
    try:
        with transaction(engine) as s:
            return record_all(s, make_ctx(), mailbox, items, reader)
    except (sa.exc.OperationalError, WorkerUnavailable):
        raise  # the database (or the parse worker) is unavailable: nothing is moved; the batch waits
    except Exception as exc:  # noqa: BLE001 - nothing of the batch was kept; redo it carefully
        if len(items) == 1:
            return [_alone(engine, make_ctx, mailbox, items[0], exc)]
        log.warning("a batch of %d messages was rolled back; handling them one at a time", len(items))
        return [process(engine, make_ctx, mailbox, item, reader) for item in items]


def process(engine: sa.Engine, make_ctx: Callable[[], Context], mailbox: str, item: Incoming,
            reader: Reader = IN_PROCESS) -> str:
    """Record and act on one message: a batch of one."""
    return process_batch(engine, make_ctx, mailbox, [item], reader)[0]


def _alone(engine: sa.Engine, make_ctx: Callable[[], Context], mailbox: str, item: Incoming,
           exc: Exception) -> str:
    """A message whose batch of one failed: recorded by another worker meanwhile, or shunted."""
    sha = sha256(item.raw)
    with Session(engine) as s:
        known = s.exec(select(InboundMessage.disposition).where(
            InboundMessage.mailbox == mailbox, InboundMessage.sha256 == sha)).first()
    if known is not None:
        return known  # another worker recorded it between our look and our commit: it is handled
    log.error("message %s could not be handled; quarantined", item.key, exc_info=exc,
              extra={"message_key": item.key})
    with transaction(engine) as s:  # shunt: never lose the message, never die on it
        s.add(InboundMessage(**{**_row(make_ctx(), mailbox, item, sha, None, None), "disposition": QUARANTINE,
                                "reason": f"error: could not be handled ({type(exc).__name__}); kept for a "
                                          "person to look at"}))
    return QUARANTINE


def record_all(s: Session, ctx: Context, mailbox: str, items: list[Incoming],
               reader: Reader = IN_PROCESS) -> list[str]:
    """Record and act on messages inside the caller's transaction; where each goes. A
    message already recorded (by mailbox key, or the same bytes under another key, even
    earlier in `items`) is only told where it went."""
    shas = [sha256(item.raw) for item in items]
    by_key, by_sha = _seen(s, mailbox, items, shas)
    first_of: dict[str, int] = {}
    for place, (item, sha) in enumerate(zip(items, shas)):
        if item.key in by_key or sha in by_sha or sha in first_of:
            continue
        first_of[sha] = place
    fresh = _read_all(ctx, [(place, items[place], sha) for sha, place in first_of.items()], reader)
    outcomes = _act(s, ctx, mailbox, fresh)
    return [by_key.get(item.key) or by_sha.get(sha) or outcomes[first_of[sha]].disposition
            for item, sha in zip(items, shas)]


def _read_all(ctx: Context, todo: list[tuple[int, Incoming, str]], reader: Reader) -> list[_Read]:
    """Judge each sender from the header block first (rules.judge_head: too large, our own
    mail, an unclear sender, a stranger): those go no further. The rest are parsed, in one
    call to the reader (a worker round trip for the batch), and triaged."""
    heads = [read_head(item.raw) for _, item, _ in todo]
    unread = [judge_head(ctx, head) for head in heads]
    parsed = iter(reader.parse_many([item.raw for (_, item, _), way in zip(todo, unread) if not way]))
    out = []
    for (place, item, sha), head, way in zip(todo, heads, unread):
        msg = None if way else next(parsed)
        out.append(_Read(place, item, sha, head, msg, way or triage(ctx, msg)))
    return out


def _act(s: Session, ctx: Context, mailbox: str, fresh: list[_Read]) -> dict[int, Outcome]:
    """Record the fresh messages (one INSERT), handle each in order, open the intakes'
    cases together, and complete their records (one UPDATE); outcomes by place."""
    if not fresh:
        return {}
    table = InboundMessage.__table__
    ids = dict(s.execute(table.insert().returning(table.c.source_key, table.c.id),
                         [_row(ctx, mailbox, r.item, r.sha, r.head, r.msg) for r in fresh]).all())
    openings = Openings.for_batch(s, ctx, {r.msg.sender for r in fresh if r.way == INTAKE and r.msg.sender})
    outcomes = {}
    for r in fresh:
        outcome = handle(s, ctx, r.msg, ids[r.item.key], r.way, r.place, openings, r.head)
        if outcome is not None:
            outcomes[r.place] = outcome if r.msg else replace(outcome, reason=f"{outcome.reason}; "
                                                                              f"{head_detail(r.way, r.head)}")
    outcomes.update(openings.open(s, ctx))
    s.execute(_DONE, [dict(row_id=ids[r.item.key], disposition=outcomes[r.place].disposition,
                           reason=outcomes[r.place].reason, case=outcomes[r.place].case_id,
                           bytes=r.item.raw if outcomes[r.place].keep_raw else None,
                           held_as=outcomes[r.place].held_as) for r in fresh])
    for r in fresh:
        log.info("message %s: %s", r.item.key, outcomes[r.place].reason, extra={"message_key": r.item.key})
    return outcomes


_T = InboundMessage.__table__
_DONE = _T.update().where(_T.c.id == sa.bindparam("row_id")).values(
    disposition=sa.bindparam("disposition"), reason=sa.bindparam("reason"), case_id=sa.bindparam("case"),
    raw=sa.bindparam("bytes"), held_as=sa.bindparam("held_as"))


def _row(ctx: Context, mailbox: str, item: Incoming, sha: str, head: Head | None, msg: ParsedMessage | None) -> dict:
    """A new InboundMessage row's values; where it went is filled in once it is acted on. A
    message kept unread is recorded with what its header block says."""
    kind = ("too_costly" if msg.too_costly else msg.kind) if msg else "unread"
    known = msg if msg is not None else head
    return dict(partnership=ctx.partnership.id, mailbox=mailbox, source_key=item.key,
                message_id=known.message_id if known else None, sha256=sha, received_at=ctx.now,
                kind=kind, disposition="", reason="", sender=known.sender if known else None,
                case_id=None, raw=None, moved=False)


def _seen(s: Session, mailbox: str, items: list[Incoming], shas: list[str]) -> tuple[dict, dict]:
    """Where each already-recorded message of a batch went: by mailbox key, and by hash."""
    rows = s.exec(select(InboundMessage.source_key, InboundMessage.sha256, InboundMessage.disposition).where(
        InboundMessage.mailbox == mailbox, or_(InboundMessage.source_key.in_([i.key for i in items]),
                                               InboundMessage.sha256.in_(shas)))).all()
    return {key: d for key, _, d in rows}, {sha: d for _, sha, d in rows}


def _handle(engine: sa.Engine, make_ctx, inbox: Inbox, folders: dict[str, str], batch: list[Incoming],
            reader: Reader) -> int:
    done: dict[str, list[str]] = {}
    for item, disposition in zip(batch, process_batch(engine, make_ctx, inbox.name, batch, reader)):
        done.setdefault(folders[disposition], []).append(item.key)
    return _file_away(engine, inbox, done)


def _file_away(engine: sa.Engine, inbox: Inbox, done: dict[str, list[str]]) -> int:
    """Move the recorded messages (one command per folder), note them moved; empties `done`."""
    keys = [key for folder, batch in done.items() for key in batch]
    for folder, batch in done.items():
        inbox.move_many(batch, folder)
    done.clear()
    if keys:
        with transaction(engine) as s:
            s.exec(sa.update(InboundMessage).where(InboundMessage.mailbox == inbox.name,
                                                   InboundMessage.source_key.in_(keys)).values(moved=True))
    return len(keys)
