"""One path for every message: inbox → parse → classify → one transaction → move.

The message is moved to Processed or Quarantine only after the transaction that recorded
it has committed. If the process dies before the move, the next run finds the message
again, sees it was already recorded (by mailbox key or content digest) and only moves it.
"""
from __future__ import annotations

import hashlib
import re
import logging
from dataclasses import dataclass
from typing import Callable

import sqlalchemy as sa
from sqlmodel import Session, or_, select

from mailer.inbox import Inbox, Incoming
from parser import ParsedMessage, parse_message
from tracker.incoming import authres
from tracker.cases import changes as cases
from tracker.cases.changes import Context
from tracker.storage.db import transaction
from tracker.storage.models import Case, InboundMessage
from tracker.outgoing.outbox import Letter

log = logging.getLogger(__name__)

PROCESSED, QUARANTINE = "processed", "quarantine"


@dataclass(frozen=True)
class Outcome:
    disposition: str  # processed | quarantine
    reason: str
    case_id: int | None = None
    keep_raw: bool = False


# --- rules: each answers "does this apply?"; the first that does decides (STYLE.md §1) ----

def _outside_partners(ctx: Context, msg: ParsedMessage) -> bool:
    domains = ctx.partnership.partner_domains
    if not domains:
        return False
    domain = (msg.sender or "").rpartition("@")[2]
    return not domain or not any(domain == d or domain.endswith("." + d) for d in domains)


def _not_authenticated(ctx: Context, msg: ParsedMessage) -> str | None:
    sec = ctx.partnership.security
    if not sec.trusted_authserv_ids:
        return None
    verdict = authres.judge(msg.auth_results, sec.trusted_authserv_ids)
    if verdict.trusted and not verdict.passed:
        return verdict.reason
    if not verdict.trusted and sec.require_authentication:
        return verdict.reason
    return None


def _bad_attachment(ctx: Context, msg: ParsedMessage) -> str | None:
    sec = ctx.partnership.security
    for name, _ctype, size in msg.attachments:
        lowered = (name or "").lower()
        if size > sec.max_attachment_bytes or lowered.endswith(sec.refused_attachment_types):
            return name or "(unnamed)"
    return None


RULES: tuple[tuple[str, Callable[[Context, ParsedMessage], bool], str], ...] = (
    ("own_mail", lambda c, m: m.own, "our own mail came back: never answered, to avoid loops"),
    ("bounce", lambda c, m: m.kind == "bounce", "a delivery failure report: never changes a case"),
    ("auto_reply", lambda c, m: m.kind == "auto_reply", "an automatic reply: never changes a case"),
    ("no_sender", lambda c, m: not m.sender, "no readable sender address"),
    ("unauthenticated", lambda c, m: _not_authenticated(c, m) is not None,
     "the receiving server could not confirm the sender (DMARC, or DKIM and SPF, did not pass)"),
    ("attachment", lambda c, m: _bad_attachment(c, m) is not None,
     "an attachment is too large or of a refused type; it was not opened"),
    ("outside_partners", _outside_partners,
     "sender is outside the partner agencies' domains: not opened, not answered"),
    ("invalid", lambda c, m: m.kind == "invalid", "neither an escalation nor a reply naming a case"),
)


_WHO = r"(?:professional|worker|practitioner|visitor|officer|teacher|nurse|doctor|manager|staff|colleague|his|her|their)"
CONDUCT = re.compile(
    rf"\b{_WHO}(?:'s|s'|s)? (?:conduct|behaviou?r|attitude)\b|\bconduct of (?:a|the|my|our|their)\b"
    r"|\ballegations? (?:against|about)\b|\bwhistle-?blow|\bLADO\b",
    re.IGNORECASE)


def about_conduct(msg: ParsedMessage) -> bool:
    """An intake about a professional's conduct belongs to whistleblowing, not this policy."""
    f = msg.fields
    text = " ".join(x for x in (msg.subject, f and f.decision_disputed, f and f.reasons) if x)
    return bool(CONDUCT.search(text[:5000]))


REASONS = {name: reason for name, _, reason in RULES}
INTAKE = "intake"


def triage(ctx: Context, msg: ParsedMessage) -> str:
    """Which way a message goes, decided in this order: the name of the first rule that
    applies (it is quarantined), else "reply", "conduct", "errors", or INTAKE (it opens a case)."""
    for name, applies, _ in RULES:
        if applies(ctx, msg):
            return name
    if msg.kind == "reply":
        return "reply"
    if about_conduct(msg):
        return "conduct"
    return "errors" if msg.errors else INTAKE


def handle(session: Session, ctx: Context, msg: ParsedMessage, inbound: InboundMessage, way: str) -> Outcome:
    """Act on a message that does not open a case (`way` from `triage`; see `_open` for those that do)."""
    if way in REASONS:
        return Outcome(QUARANTINE, f"{way}: {REASONS[way]}")
    if way == "reply":
        return _reply(session, ctx, msg, inbound)
    if way == "conduct":
        _answer(session, ctx, msg, inbound, "out_of_scope", {})
        return Outcome(PROCESSED, "about a professional's conduct: sent the whistleblowing / allegations route")
    if way == "errors":
        _answer(session, ctx, msg, inbound, "invalid_intake", {"errors": [e.message for e in msg.errors]})
        return Outcome(PROCESSED, "intake with errors: sender told what to fix")
    raise ValueError(f"no handling for {way!r}: intakes that open cases go to _open")


def _reply(session: Session, ctx: Context, msg: ParsedMessage, inbound: InboundMessage) -> Outcome:
    case = session.exec(select(Case).where(Case.ref == msg.case_ref, Case.partnership == ctx.partnership.id)).first()
    if case is None:
        _answer(session, ctx, msg, inbound, "not_a_party", {"ref": None})  # not even echoed back
        return Outcome(PROCESSED, "reply naming an unknown case: sender told, nothing revealed")
    decision = cases.apply_reply(session, ctx, msg, case, inbound.id)
    if not decision.allowed and decision.outcome == "not_party":
        return Outcome(PROCESSED, "reply from someone not on the case: politely refused, nothing revealed")
    verdict = "applied" if decision.allowed else "refused"
    return Outcome(PROCESSED, f"{decision.outcome} ({verdict}) on {case.ref}", case.id, keep_raw=True)


def _answer(session: Session, ctx: Context, msg: ParsedMessage, inbound: InboundMessage, kind: str,
            extra: dict) -> None:
    values = {"partnership": ctx.partnership.name, "address": ctx.partnership.address, "ref": msg.case_ref,
              "subject": msg.subject, **extra}
    letter = Letter(kind, msg.sender, values, in_reply_to=msg.message_id, auto="auto-replied")
    cases.send(session, ctx, None, f"in{inbound.id}", [letter], [])


# --- the loop body ------------------------------------------------------------------------

def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def process(engine: sa.Engine, make_ctx: Callable[[], Context], mailbox: str, item: Incoming) -> str:
    """Record and act on one message; returns 'processed' or 'quarantine' (where to move it)."""
    sha = digest(item.raw)
    try:
        with transaction(engine) as s:
            return _record_all(s, make_ctx(), mailbox, [item])[0]
    except sa.exc.IntegrityError:
        # another worker recorded it between our look and our commit: it is handled
        with Session(engine) as s:
            return s.exec(select(InboundMessage.disposition).where(
                InboundMessage.mailbox == mailbox, InboundMessage.digest == sha)).one()
    except sa.exc.OperationalError:
        raise  # the database is unreachable or busy: leave the message where it is, try again later
    except Exception as exc:  # noqa: BLE001 - shunt: never lose the message, never die on it
        log.exception("message %s could not be handled; quarantined", item.key)
        return _shunt(engine, make_ctx(), mailbox, item, sha, exc)


def too_large(ctx: Context, raw: bytes) -> bool:
    """Bigger than any honest escalation with its largest allowed attachment (base64 grows 4/3)."""
    return len(raw) > ctx.partnership.security.max_attachment_bytes * 4 // 3 + 2_000_000


def _record_all(s: Session, ctx: Context, mailbox: str, items: list[Incoming]) -> list[str]:
    """Record and act on messages inside the caller's transaction; where each goes. A
    message already recorded (by mailbox key, or the same bytes under another key, even
    earlier in `items`) is only told where it went."""
    shas = [digest(item.raw) for item in items]
    by_key, by_digest = _seen_many(s, mailbox, items, shas)
    out: list[str] = []
    openings: list[tuple[Incoming, str, ParsedMessage]] = []
    for item, sha in zip(items, shas):
        out.append(by_key.get(item.key) or by_digest.get(sha) or _record_in(s, ctx, mailbox, item, sha, openings))
        by_digest[sha] = out[-1]
    _open(s, ctx, mailbox, openings)
    return out


def _record_in(s: Session, ctx: Context, mailbox: str, item: Incoming, sha: str,
               openings: list[tuple[Incoming, str, ParsedMessage]]) -> str:
    """Record and act on one message inside the caller's transaction. An intake that opens
    a case is added to `openings`, to be opened with the others (`_open`)."""
    if too_large(ctx, item.raw):
        return _quarantine_unread(s, ctx, mailbox, item, sha, "too_large: the message is larger than the "
                                  "attachment limit allows; it was not read")
    msg = parse_message(item.raw)
    way = triage(ctx, msg)
    if way == INTAKE:
        openings.append((item, sha, msg))
        return PROCESSED
    inbound = InboundMessage(**_inbound(ctx, mailbox, item, sha, msg))
    s.add(inbound)
    s.flush()
    outcome = handle(s, ctx, msg, inbound, way)
    inbound.disposition, inbound.reason, inbound.case_id = outcome.disposition, outcome.reason, outcome.case_id
    inbound.raw = item.raw if outcome.keep_raw else None
    s.add(inbound)
    log.info("message %s: %s", item.key, outcome.reason)
    return outcome.disposition


def _inbound(ctx: Context, mailbox: str, item: Incoming, sha: str, msg: ParsedMessage) -> dict:
    """A new InboundMessage row's values; where it went is filled in once it is acted on."""
    return dict(partnership=ctx.partnership.id, mailbox=mailbox, source_key=item.key, message_id=msg.message_id,
                digest=sha, received_at=ctx.now, kind=msg.kind, disposition="", reason="", sender=msg.sender,
                case_id=None, raw=None, moved=False)


_T = InboundMessage.__table__
_OPENED = _T.update().where(_T.c.id == sa.bindparam("row_id")).values(
    disposition=PROCESSED, reason=sa.bindparam("why"), case_id=sa.bindparam("case"), raw=sa.bindparam("bytes"))


def _open(s: Session, ctx: Context, mailbox: str, openings: list[tuple[Incoming, str, ParsedMessage]]) -> None:
    """Record the intakes that open cases and open them, together (`cases.open_cases`)."""
    if not openings:
        return
    ids = dict(s.execute(_T.insert().returning(_T.c.source_key, _T.c.id),
                         [_inbound(ctx, mailbox, item, sha, msg) for item, sha, msg in openings]).all())
    opened = cases.open_cases(s, ctx, [(msg, ids[item.key]) for item, _, msg in openings])
    s.execute(_OPENED, [dict(row_id=ids[item.key], why=f"opened {case.ref}", case=case.id, bytes=item.raw)
                        for (item, _, _), case in zip(openings, opened)])
    for (item, _, _), case in zip(openings, opened):
        log.info("message %s: opened %s", item.key, case.ref)


def _seen_many(s: Session, mailbox: str, items: list[Incoming], shas: list[str]) -> tuple[dict, dict]:
    """Where each already-recorded message of a batch went: by mailbox key, and by digest."""
    rows = s.exec(select(InboundMessage.source_key, InboundMessage.digest, InboundMessage.disposition).where(
        InboundMessage.mailbox == mailbox, or_(InboundMessage.source_key.in_([i.key for i in items]),
                                               InboundMessage.digest.in_(shas)))).all()
    return {key: d for key, _, d in rows}, {sha: d for _, sha, d in rows}


def process_batch(engine: sa.Engine, make_ctx: Callable[[], Context], mailbox: str,
                  items: list[Incoming]) -> list[str]:
    """Record a backlog's messages in one transaction (one commit, not one per message;
    the cases they open, a few statements for all of them). Any error, or another instance
    racing us, rolls the whole batch back and it is done again one message at a time,
    where a failing message is shunted alone."""
    try:
        with transaction(engine) as s:
            return _record_all(s, make_ctx(), mailbox, items)
    except sa.exc.OperationalError:
        raise  # the database is unreachable or busy: nothing is moved; the batch waits for next time
    except Exception:  # noqa: BLE001 - nothing of the batch was kept; redo it carefully
        log.warning("a batch of %d messages was rolled back; handling them one at a time", len(items))
        return [process(engine, make_ctx, mailbox, item) for item in items]


def _shunt(engine: sa.Engine, ctx: Context, mailbox: str, item: Incoming, sha: str, exc: Exception) -> str:
    with transaction(engine) as s:
        return _quarantine_unread(s, ctx, mailbox, item, sha, f"error: could not be handled "
                                  f"({type(exc).__name__}); kept for a person to look at")


def _quarantine_unread(s: Session, ctx: Context, mailbox: str, item: Incoming, sha: str, reason: str) -> str:
    """Record a message quarantined without being read (inside the caller's transaction)."""
    s.add(InboundMessage(partnership=ctx.partnership.id, mailbox=mailbox, source_key=item.key, digest=sha,
                         received_at=ctx.now, kind="unread", disposition=QUARANTINE, reason=reason))
    return QUARANTINE


def ingest(engine: sa.Engine, make_ctx: Callable[[], Context], inbox: Inbox, folders: dict[str, str],
           should_stop: Callable[[], bool] = lambda: False) -> int:
    """Handle everything waiting in `inbox`; returns how many messages were moved.
    `should_stop` is asked between messages, so a stop finishes the message in hand.

    Messages are moved in batches of up to MOVE_BATCH, each batch only after every
    transaction that recorded its messages has committed: a death before the move leaves
    them in the inbox, to be recognised and only moved on the next run."""
    moved = 0
    batch: list[Incoming] = []
    for item in inbox.pending():
        if should_stop():
            break
        batch.append(item)
        if len(batch) >= MOVE_BATCH:
            moved += _handle(engine, make_ctx, inbox, folders, batch)
            batch = []
    return moved + (_handle(engine, make_ctx, inbox, folders, batch) if batch else 0)


def _handle(engine: sa.Engine, make_ctx, inbox: Inbox, folders: dict[str, str], batch: list[Incoming]) -> int:
    done: dict[str, list[str]] = {}
    for item, disposition in zip(batch, process_batch(engine, make_ctx, inbox.name, batch)):
        done.setdefault(folders[disposition], []).append(item.key)
    return _file_away(engine, inbox, done)


MOVE_BATCH = 50


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
