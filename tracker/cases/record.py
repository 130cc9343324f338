"""The case record: an append-only, hash-chained log of everything that happened.

Each entry's hash covers its own content and the previous entry's hash, so editing or
deleting any entry afterwards breaks every hash after it (`escalations case REF --verify`).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

import sqlalchemy as sa

from sqlmodel import Session, select

from tracker.storage.models import Case, Event

GENESIS = "0" * 64


def statement_hash(statement: str | None) -> str | None:
    return hashlib.sha256(statement.encode()).hexdigest() if statement is not None else None


def _digest(prev_hash: str, case_ref: str, e: Event) -> str:
    """Covers the statement through its hash, so retention can purge the words and the
    chain still verifies; while the words are there, they must still match that hash."""
    payload = json.dumps(
        [case_ref, e.seq, e.at.isoformat(), e.kind, e.actor, e.stage, e.summary, e.statement_hash,
         e.inbound_id, e.outbox_id],
        ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def _digest_before_0003(prev_hash: str, case_ref: str, e: Event) -> str | None:
    """Entries written before migration 0003 hashed the statement's words themselves."""
    if e.statement is None and e.statement_hash is not None:
        return None  # purged: only the newer form can be checked
    payload = json.dumps(
        [case_ref, e.seq, e.at.isoformat(), e.kind, e.actor, e.stage, e.summary, e.statement,
         e.inbound_id, e.outbox_id],
        ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    """What a caller needs of an entry just written: its place in the log."""

    seq: int
    hash: str


def begin(session: Session, case: Case) -> None:
    """`case` was just created in this transaction: its log is empty, no need to ask."""
    session.info.setdefault("record_tails", {})[case.id] = (0, GENESIS)


def append(session: Session, case: Case, *, at: datetime, kind: str, actor: str, summary: str,
           statement: str | None = None, inbound_id: int | None = None, outbox_id: int | None = None) -> Entry:
    """Add one entry to `case`'s log (see `append_many`)."""
    return append_many(session, case, [dict(at=at, kind=kind, actor=actor, summary=summary, statement=statement,
                                            inbound_id=inbound_id, outbox_id=outbox_id)])[0]


def append_many(session: Session, case: Case, entries: list[dict]) -> list[Entry]:
    """Add entries (at, kind, actor, summary, and optionally statement, inbound_id,
    outbox_id, and the stage they belong to if not the case's current one) to `case`'s log
    in order (see `append_each`)."""
    return append_each(session, [(case, entries)])[0]


def append_each(session: Session, logs: list[tuple[Case, list[dict]]]) -> list[list[Entry]]:
    """Add each (case, entries) pair's entries to that case's log, in order, all written at
    once: one INSERT for every case, no ORM objects.

    Each chain's tail is remembered for the rest of the transaction (session.info), so a
    change that writes several times asks the database for it once."""
    tails = session.info.setdefault("record_tails", {})
    rows, written = [], []
    for case, entries in logs:
        if entries and case.id not in tails:
            last = session.exec(select(Event.seq, Event.hash).where(Event.case_id == case.id)
                                .order_by(Event.seq.desc())).first()
            tails[case.id] = tuple(last) if last else (0, GENESIS)
        seq, prev = tails.get(case.id, (0, GENESIS))
        mine = []
        for e in entries:
            seq += 1
            statement = e.get("statement")
            row = dict(case_id=case.id, seq=seq, at=e["at"], kind=e["kind"], actor=e["actor"],
                       stage=e.get("stage") or case.stage,
                       summary=e["summary"], statement=statement, statement_hash=statement_hash(statement),
                       inbound_id=e.get("inbound_id"), outbox_id=e.get("outbox_id"), prev_hash=prev)
            row["hash"] = prev = _digest(prev, case.ref, SimpleNamespace(**row))
            mine.append(row)
        if mine:
            tails[case.id] = (seq, prev)
        rows += mine
        written.append([Entry(r["seq"], r["hash"]) for r in mine])
    if rows:
        session.execute(sa.insert(Event.__table__), rows)
    return written


def events(session: Session, case: Case) -> list[Event]:
    return list(session.exec(select(Event).where(Event.case_id == case.id).order_by(Event.seq)))


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    problem: str | None = None


def verify(session: Session, case: Case) -> Verification:
    """Recompute the chain; the first entry that does not match is named."""
    prev = GENESIS
    log = events(session, case)
    for expected_seq, e in enumerate(log, start=1):
        if e.seq != expected_seq:
            return Verification(False, len(log), f"entry {expected_seq} is missing (found {e.seq})")
        words_changed = e.statement is not None and statement_hash(e.statement) != e.statement_hash
        if e.prev_hash != prev or words_changed or e.hash not in (_digest(prev, case.ref, e),
                                                                  _digest_before_0003(prev, case.ref, e)):
            return Verification(False, len(log), f"entry {e.seq} ({e.kind}, {e.at.isoformat()}) was altered")
        prev = e.hash
    return Verification(True, len(log))
