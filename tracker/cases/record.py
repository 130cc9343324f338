"""The case record: an append-only, hash-chained log of everything that happened, which
commits to the case itself.

Each entry's hash covers the previous entry's hash, its own content, and the hash of the
case's values and people as that entry leaves them (tracker/cases/snapshot.py; the
snapshot itself is kept on the entries that change it). The case row points at the
chain's head (`record_seq`, `record_head`), written with every entry. So `verify` finds
an entry edited, inserted or removed, the record cut short (even by its last entry, or all
of them), and any change to the case's values or people that no entry made. Someone who
rewrites the whole database and recomputes every hash is caught by the heads that left in
the mail (`head_text`, carried by every mail about the case and the weekly digest), checked
with `against`.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from tracker.cases import snapshot
from tracker.storage.models import Case, Event, Party

GENESIS = "0" * 64
SHORT = 16  # hex digits of a head shown in mail: 64 bits, beyond what rewriting a record can search


def statement_hash(statement: str | None) -> str | None:
    return hashlib.sha256(statement.encode()).hexdigest() if statement is not None else None


def _utc(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat()


def _digest(prev_hash: str, case_ref: str, e) -> str:
    """Covers the statement through its hash (retention purges the words, the chain still
    verifies; while the words are there they must match it) and the case as left by the
    entry through `state_hash`."""
    payload = json.dumps(
        [case_ref, e.seq, _utc(e.at), e.kind, e.actor, e.stage, e.summary, e.statement_hash,
         e.inbound_id, e.outbox_id, e.state_hash],
        ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def _digests_before_covering(prev_hash: str, case_ref: str, e) -> tuple[str | None, ...]:
    """The forms entries written before migration 0009 (record_covers_case) were hashed in: they covered the
    entry alone, its statement by hash (0003 on) or by its words (before 0003)."""
    def form(words):
        payload = json.dumps([case_ref, e.seq, e.at.isoformat(), e.kind, e.actor, e.stage, e.summary, words,
                              e.inbound_id, e.outbox_id], ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256((prev_hash + payload).encode()).hexdigest()
    purged = e.statement is None and e.statement_hash is not None  # only the hashed form can be checked
    return form(e.statement_hash), None if purged else form(e.statement)


@dataclass(frozen=True)
class Entry:
    """What a caller needs of an entry just written: its place in the log."""

    seq: int
    hash: str


# --- writing ------------------------------------------------------------------------------------
def begin(session: Session, case) -> None:
    """`case` was just created in this transaction: its log is empty, no need to ask."""
    _tails(session)[case.id] = (0, GENESIS, None)


def _tails(session: Session) -> dict:
    """Each chain's (seq, hash, state hash) at its end, remembered for the transaction, so a
    change that writes several times asks the database once."""
    return session.info.setdefault("record_tails", {})


def append(session: Session, case, *, at: datetime, kind: str, actor: str, summary: str,
           statement: str | None = None, inbound_id: int | None = None, outbox_id: int | None = None,
           people=None) -> Entry:
    """Add one entry to `case`'s log (see `append_many`)."""
    return append_many(session, case, [dict(at=at, kind=kind, actor=actor, summary=summary, statement=statement,
                                            inbound_id=inbound_id, outbox_id=outbox_id)], people)[0]


def append_many(session: Session, case, entries: list[dict], people=None) -> list[Entry]:
    """Add entries (see `chain`) to `case`'s log in order and write them."""
    return append_each(session, [(case, people, entries)])[0]


def append_each(session: Session, logs: list[tuple]) -> list[list[Entry]]:
    """Add each (case, people, entries) triple's entries to that case's log and write them
    all: one INSERT for every case and one UPDATE of their heads, no ORM objects."""
    rows = chain(session, logs)
    write(session, rows)
    out, at = [], 0
    for _, _, entries in logs:
        out.append([Entry(r["seq"], r["hash"]) for r in rows[at:at + len(entries)]])
        at += len(entries)
    return out


def chain(session: Session, logs: list[tuple]) -> list[dict]:
    """The rows of each (case, people, entries) triple's entries, hashed onto the end of
    that case's log, without writing them (`write` does), so a caller can put a head in
    mail before the rest of its entries are made.

    Entries: dicts of at, kind, actor, summary, and optionally statement, inbound_id,
    outbox_id, and the stage they belong to if not the case's current one. `people`: the
    case's people as these entries leave it (with the case's values as they are now), or
    None when the entries change neither (letters queued, say); a log with no state yet
    reads its people from the database."""
    tails, rows = _tails(session), []
    for case, people, entries in logs:
        if not entries:
            continue
        seq, prev, held = _tail(session, case, tails)
        if people is None and held is None:
            people = _people(session, case)
        text = snapshot.dumps(snapshot.snapshot(case, people)) if people is not None else None
        state = snapshot.state_hash(text) if text is not None else held
        for e in entries:
            seq += 1
            statement = e.get("statement")
            row = dict(case_id=case.id, seq=seq, at=e["at"], kind=e["kind"], actor=e["actor"],
                       stage=e.get("stage") or case.stage, summary=e["summary"], statement=statement,
                       statement_hash=statement_hash(statement), inbound_id=e.get("inbound_id"),
                       outbox_id=e.get("outbox_id"), prev_hash=prev, state_hash=state,
                       state=text if state != held else None)
            row["hash"] = prev = _digest(prev, case.ref, SimpleNamespace(**row))
            held = state
            rows.append(row)
        tails[case.id] = (seq, prev, held)
        _point(case, seq, prev)
    return rows


def write(session: Session, rows: list[dict]) -> None:
    """Write rows made by `chain`, and move each case's head pointer to its last one."""
    if not rows:
        return
    session.execute(sa.insert(Event.__table__), rows)
    heads = {r["case_id"]: (r["seq"], r["hash"]) for r in rows}
    session.execute(_POINT, [dict(case_id=i, seq=s, head=h) for i, (s, h) in heads.items()])


_C = Case.__table__
_POINT = _C.update().where(_C.c.id == sa.bindparam("case_id")).values(
    record_seq=sa.bindparam("seq"), record_head=sa.bindparam("head"))


def _point(case, seq: int, head: str) -> None:
    """The case object in hand follows its pointer (the UPDATE in `write` moves the row)
    without the ORM thinking it has changes of its own to write."""
    if isinstance(case, SimpleNamespace):
        case.record_seq, case.record_head = seq, head
    else:
        set_committed_value(case, "record_seq", seq)
        set_committed_value(case, "record_head", head)


def _tail(session: Session, case, tails: dict) -> tuple[int, str, str | None]:
    if case.id not in tails:
        last = session.exec(select(Event.seq, Event.hash, Event.state_hash).where(Event.case_id == case.id)
                            .order_by(Event.seq.desc())).first()
        tails[case.id] = tuple(last) if last else (0, GENESIS, None)
    return tails[case.id]


def _people(session: Session, case) -> list:
    return list(session.exec(select(Party).where(Party.case_id == case.id)))


def people_now(session: Session, case) -> list:
    """The case's people as the database holds them in this transaction (rows changed by
    UPDATE statements read again), for the entry that is to vouch for them."""
    return list(session.exec(select(Party).where(Party.case_id == case.id)
                             .execution_options(populate_existing=True)))


def head(session: Session, case) -> tuple[int, str] | None:
    """The chain's (entries, hash) as written so far in this transaction."""
    seq, last, _ = _tail(session, case, _tails(session))
    return (seq, last) if seq else None


def head_text(ref: str, seq: int, digest: str) -> str:
    """How a head is written in mail: 'ESC-2026-0042 #7 3f9a1c0e5b7d2a48' (parser/anchor.py reads it)."""
    return f"{ref} #{seq} {digest[:SHORT]}"


def events(session: Session, case) -> list[Event]:
    return list(session.exec(select(Event).where(Event.case_id == case.id).order_by(Event.seq)))


# --- checking ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    problem: str | None = None
    head: str | None = None  # the last entry's hash


def verify(session: Session, case, people=None) -> Verification:
    """Recompute the chain, check the case's pointer to its head, and compare the case's
    values and people with the state its record holds; the first problem is named."""
    log = events(session, case)
    people = _people(session, case) if people is None else people
    last = log[-1].hash if log else None
    problem = _chain_problem(case, log)
    if problem is None:
        problem = _pointer_problem(case, log) or _state_problem(case, people, log)
    return Verification(problem is None, len(log), problem, last)


def _chain_problem(case, log: list[Event]) -> str | None:
    prev, held, covered = GENESIS, None, False
    for n, e in enumerate(log, start=1):
        if e.seq != n:
            return f"entry {n} is missing (the next is entry {e.seq})"
        what = f"entry {n} ({e.kind}, {_utc(e.at)})"
        if e.statement is not None and statement_hash(e.statement) != e.statement_hash:
            return f"{what} was altered: its statement is not the one written"
        if e.state_hash is None:  # written before the record covered the case
            ok = not covered and e.hash in _digests_before_covering(prev, case.ref, e)
        else:
            if e.state is not None and snapshot.state_hash(e.state) != e.state_hash:
                return f"{what} was altered: the case state it holds is not the one written"
            if e.state is None and e.state_hash != held:
                return f"{what} was altered: it claims a case state no entry holds"
            held, covered = e.state_hash, True
            ok = e.hash == _digest(prev, case.ref, e)
        if e.prev_hash != prev or not ok:
            return f"{what} was altered"
        prev = e.hash
    return None


def _pointer_problem(case, log: list[Event]) -> str | None:
    written, last = case.record_seq or 0, log[-1].hash if log else None
    if not log:
        return f"the record has no entries, but {written} were written" if written else "the record has no entries"
    if written > len(log):
        return f"the record ends at entry {len(log)}, but {written} were written: the last were removed"
    if written < len(log):
        return f"the record has {len(log)} entries, but {written} were written: entries were added after it"
    if case.record_head != last:
        return f"entry {len(log)} is not the last entry written (the case points at another)"
    return None


def _state_problem(case, people, log: list[Event]) -> str | None:
    state = next((e.state for e in reversed(log) if e.state is not None), None)
    if state is None:
        return "no entry holds the case's values and people: the record does not cover the case"
    return snapshot.differences(json.loads(state), snapshot.snapshot(case, people))


def against(session: Session, case, heads: list[tuple[int, str, str]]) -> str | None:
    """Check the record against heads people already hold ((entries, short hash, where it
    was found) from mail or the digest); the first that disagrees is named."""
    log = events(session, case)
    for seq, short, source in sorted(heads):
        if seq > len(log):
            return f"entry {seq} is gone: {source} holds head #{seq} {short}, the record has {len(log)} entries"
        mine = log[seq - 1].hash[:len(short)]
        if mine != short:
            return (f"entry {seq} is not the one {source} holds (#{seq} {short} there, {mine} here): "
                    "the record was rewritten")
    return None
