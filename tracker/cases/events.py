"""Events that reach a case by mail: a reply from someone (business support's ROUTE and
CORRECT among them), a mail the server refused, a delivery report about a mail the service
sent. Each loads the case, asks the stage machine, and writes its answer
(tracker/cases/effects.py)."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, time

import sqlalchemy as sa

from sqlmodel import Session, select

from parser import ParsedMessage
from parser.authres import judge
from parser.keywords import read_correction, read_route
from parser.personal_data import passages
from tracker.cases.context import Context
from tracker.cases.effects import apply
from tracker.cases.post import post
from tracker.cases.state import verified_state
from tracker.config.security import trust_settings
from tracker.outgoing.letter import Letter
from tracker.stages.machine import Correct, MailRefused, Reply, Route, advance
from tracker.stages.state import Entry, Person, Tell, Transition, Words
from tracker.stages.support import RESENDABLE
from tracker.storage.models import Case, OutboxMail


def on_reply(session: Session, ctx: Context, msg: ParsedMessage, case: Case, inbound_id: int, *,
             kept: tuple[str, ...] = (), answer: bool = True, cleared: str | None = None) -> Transition:
    """Apply a reply to `case`; returns what the machine made of it. `kept`: attachments kept
    with it unopened; `answer` False: it came through a list, which is never answered;
    `cleared`: its sender's NOT IDENTIFYING answer, for a reply held back before
    (tracker/cases/holds.py)."""
    state = verified_state(session, case)
    t = advance(ctx.rules, state, reply_event(ctx, session, case, msg, kept, state, cleared), ctx.now)
    apply(session, ctx, case, t, key=f"in{inbound_id}", inbound_id=inbound_id, message_id=msg.message_id,
          answer=answer)
    return t


def reply_event(ctx: Context, session: Session, case: Case, msg: ParsedMessage, kept: tuple[str, ...] = (),
                state=None, cleared: str | None = None):
    """The machine's event for a reply: ROUTE and CORRECT carry what they name; any other,
    what in its words seems to identify someone (the case's professionals left alone) and
    what the receiving server said of its sender."""
    sender = msg.sender or ""
    if msg.command == "route":
        people, unreadable = read_route(msg.statement)
        return Route(sender, tuple(Person("routed", "", p.email, None, p.name, p.role, p.agency) for p in people),
                     unreadable)
    if msg.command == "correct":
        old, new = read_correction(msg.statement)
        return Correct(sender, old, new, latest_notice(session, case, old) if old else None)
    known = tuple(p.name for p in state.people if p.name) if state is not None else ()
    found = tuple(passages("statement", msg.statement, known))
    return Reply(msg.command, msg.sender, msg.statement, kept, found, cleared, authenticated(ctx, msg))


def latest_notice(session: Session, case: Case, address: str) -> str | None:
    """The kind of the latest notice the case sent `address` (CORRECT sends it again)."""
    return session.exec(select(OutboxMail.kind).where(
        OutboxMail.case_id == case.id, OutboxMail.recipient == address, OutboxMail.kind.in_(RESENDABLE))
        .order_by(OutboxMail.id.desc())).first()


def on_refused_mail(session: Session, ctx: Context, row_id: int, error: str) -> None:
    """A mail the server refused for good (a 5xx for its recipient): recorded on its case,
    business support and the raiser told in plain words."""
    row = session.get(OutboxMail, row_id)
    if row is not None:
        _failed(session, ctx, row, MailRefused(row.kind, row.recipient, "hard", error[:300]), f"fail{row_id}")


@dataclass(frozen=True)
class Failure:
    """One recipient a delivery report is about (parser's BounceReport, as the tracker needs it)."""

    address: str
    severity: str  # hard | soft | delay
    detail: str | None = None  # the report's own words (its Diagnostic-Code), else its status
    status: str | None = None  # the status code, e.g. 5.1.1


# Worst first: of the lines a report gives for one address, the one acted on.
_SEVERITIES = ("hard", "soft", "delay", "unknown")
# Delivery-failure mails about one case (or about mail of no case) in a day, the
# partnership's day: a report costs up to two (business support, the raiser), so three
# reports are told in full; past it a report is recorded only, so no run of reports,
# forged or real, becomes a mail bomb.
MAILS_PER_DAY = 6
DETAIL_CHARS = 200  # of a confirmed report's own words, made mail- and terminal-safe
_STATUS_RE = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")


def on_bounce(session: Session, ctx: Context, original_id: str | None, failures: tuple[Failure, ...],
              inbound_id: int, *, confirmed: bool) -> tuple[int | None, str]:
    """A delivery report about a mail the service sent, tied to it by the Message-ID the
    outbox fixed (random, so a stranger cannot name one). One outbox row has one recipient,
    so a report says one thing about it however many lines it has: its worst line for that
    address goes to the machine once. `confirmed`: the receiving server confirmed the
    report's sender (tracker/incoming/authenticity.py); an unconfirmed report is recorded and
    business support asked to check the address, and nothing stops. Returns (case id, what
    was done)."""
    row = _sent_row(session, ctx, original_id)
    if row is None:
        return None, "a delivery report about no mail this service sent: never changes a case"
    # the report's lines for the row's address, else its first (a server that rewrote the
    # address, e.g. an alias it expanded, reports the address it tried)
    mine = [f for f in failures if f.address == row.recipient] or list(failures[:1])
    worst = min(mine, key=lambda f: _SEVERITIES.index(f.severity) if f.severity in _SEVERITIES else 9,
                default=Failure(row.recipient, "unknown"))  # a report read no further: recorded, no clock stops
    key = f"dsn{inbound_id}.{row.id}"
    if not confirmed:
        _unconfirmed(session, ctx, row, worst, key)
        return row.case_id, (f"unconfirmed delivery report ({worst.severity}) for {row.kind} mail {row.id}: "
                             "recorded, business support asked to check the address; nothing stopped")
    event = MailRefused(row.kind, row.recipient, worst.severity, mail_safe(worst.detail), reported=True)
    _failed(session, ctx, row, event, key)
    return row.case_id, f"delivery report ({worst.severity}) for {row.kind} mail {row.id}"


def mail_safe(text: str | None, limit: int = DETAIL_CHARS) -> str | None:
    """A mail server's words as a mail or a terminal may show them: one line, no control or
    format character (escapes, bidi overrides), at most `limit` characters.

    >>> mail_safe("550 5.1.1\\x1b[2J user\\r\\n  unknown\\u202e")
    '550 5.1.1 [2J user unknown'
    """
    if not text:
        return None
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return (flat[:limit - 1] + "…" if len(flat) > limit else flat) or None


def _sent_row(session: Session, ctx: Context, original_id: str | None) -> OutboxMail | None:
    if not original_id:
        return None
    mid = original_id.strip().strip("<>")
    return session.exec(select(OutboxMail).where(OutboxMail.partnership == ctx.partnership.id,
                                                 OutboxMail.message_id == mid)).first()


def _failed(session: Session, ctx: Context, row: OutboxMail, event: MailRefused, key: str) -> None:
    case = session.get(Case, row.case_id) if row.case_id else None
    state = verified_state(session, case) if case else None
    t = _capped(session, ctx, row.case_id, advance(ctx.rules, state, event, ctx.now), event.reported)
    said = {"kind": row.kind.replace("_", " "), "recipient": row.recipient, "error": (event.detail or "")[:300],
            "reported": event.reported}
    if case is not None:
        apply(session, ctx, case, t, key=key, extra=said)
        return
    values = {"partnership": ctx.partnership.name, "address": ctx.partnership.address, "ref": None,
              "severity": event.severity, "reason": None, **said}
    post(session, ctx, None, key, [Letter(tell.kind, to, values) for tell in t.tell for to in tell.to], [])


def _unconfirmed(session: Session, ctx: Context, row: OutboxMail, f: Failure, key: str) -> None:
    """Recorded on the case, and business support asked to check the address: the failed
    address, the status code (if it is one) and what to do, nothing of the report's own
    words. No clock stops, no address is marked bounced, the raiser is not told."""
    status = next((s for s in (f.status, f.detail) if s and _STATUS_RE.fullmatch(s.strip())), None)
    what = row.kind.replace("_", " ")
    support = tuple(ctx.rules.business_support)
    tells = (Tell(UNCONFIRMED, support),) if support else ()
    said = {"kind": what, "recipient": row.recipient, "status": status and status.strip(), "severity": f.severity}
    case = session.get(Case, row.case_id) if row.case_id else None
    if case is None:
        t = _capped(session, ctx, None, Transition(UNCONFIRMED, True, None, (), tells), True)
        values = {"partnership": ctx.partnership.name, "address": ctx.partnership.address, "ref": None, **said}
        post(session, ctx, None, key, [Letter(tell.kind, to, values) for tell in t.tell for to in tell.to], [])
        return
    state = verified_state(session, case)
    if state.record_problem:  # the machine's answer to a record that does not verify
        apply(session, ctx, case, advance(ctx.rules, state, MailRefused(row.kind, row.recipient, f.severity), ctx.now),
              key=key)
        return
    entry = Entry("delivery_unconfirmed", "service", f"a delivery report the receiving server could not confirm "
                  f"says the {what} to {row.recipient} failed" + (f" ({status.strip()})" if status else "")
                  + "; nothing stopped: business support asked to check the address", stage=state.stage)
    t = Transition(UNCONFIRMED, True, state, (entry,), tells, Words(failed=row.recipient, severity=f.severity))
    apply(session, ctx, case, _capped(session, ctx, case.id, t, True), key=key, extra=said)


UNCONFIRMED = "delivery_failed_unconfirmed"  # "delivery_failed..." : never reported on in turn


def _capped(session: Session, ctx: Context, case_id: int | None, t: Transition, reported: bool) -> Transition:
    """`t`, or `t` recorded only (its letters dropped, the record saying why) when its letters
    would take the day's delivery-failure mails about the case past MAILS_PER_DAY. Only
    reports count: a refusal by our own server is one real failure per mail sent."""
    letters = sum(len(tell.to) for tell in t.tell)
    if not reported or not letters:
        return t
    cal = ctx.partnership.calendar
    since = datetime.combine(cal.local(ctx.now).date(), time(0), tzinfo=cal.tz)
    o = OutboxMail
    sent = session.exec(select(sa.func.count()).select_from(o).where(
        o.partnership == ctx.partnership.id, o.case_id.is_(None) if case_id is None else o.case_id == case_id,
        o.kind.like("delivery_failed%"), o.created_at >= since)).one()
    if sent + letters <= MAILS_PER_DAY:
        return t
    note = (Entry("delivery_not_told", "service", f"not told by mail: {MAILS_PER_DAY} delivery-failure mails about "
                  "this case went today already; the record holds this report", stage=t.state.stage),) if t.state else ()
    return replace(t, tell=(), entries=t.entries + note)


def authenticated(ctx: Context, msg: ParsedMessage) -> str | None:
    """What the partnership's own receiving server said of the sender ("dmarc=pass"), for
    the record beside the address; None where no trusted server said anything."""
    trust = trust_settings(ctx.partnership.security)
    verdict = judge(msg.head, trust) if trust is not None else None
    return verdict.reason if verdict is not None and verdict.passed else None
