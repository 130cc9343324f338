"""Events that reach a case by mail: a reply from someone (business support's ROUTE and
CORRECT among them), a mail the server refused, a delivery report about a mail the service
sent. Each loads the case, asks the stage machine, and writes its answer
(tracker/cases/effects.py)."""
from __future__ import annotations

from dataclasses import dataclass

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
from tracker.stages.state import Person, Transition
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
    detail: str | None = None


def on_bounce(session: Session, ctx: Context, original_id: str | None, failures: tuple[Failure, ...],
              inbound_id: int) -> tuple[int | None, str]:
    """A delivery report about a mail the service sent, tied to it by the Message-ID the
    outbox fixed; each failed recipient goes to the machine. Returns (case id, what was done)."""
    row = _sent_row(session, ctx, original_id)
    if row is None:
        return None, "a delivery report about no mail this service sent: never changes a case"
    # Each outbox row has one recipient: the report's line for it, else its first (a server
    # that rewrote the address, e.g. an alias it expanded, reports the address it tried).
    mine = [f for f in failures if f.address == row.recipient] or list(failures[:1])
    done = []
    for f in mine or [Failure(row.recipient, "unknown", None)]:  # a report read no further: recorded, no clock stops
        event = MailRefused(row.kind, row.recipient, f.severity, f.detail, reported=True)
        _failed(session, ctx, row, event, f"dsn{inbound_id}.{row.id}")
        done.append(f.severity)
    return row.case_id, f"delivery report ({', '.join(done) or 'nothing read'}) for {row.kind} mail {row.id}"


def _sent_row(session: Session, ctx: Context, original_id: str | None) -> OutboxMail | None:
    if not original_id:
        return None
    mid = original_id.strip().strip("<>")
    return session.exec(select(OutboxMail).where(OutboxMail.partnership == ctx.partnership.id,
                                                 OutboxMail.message_id == mid)).first()


def _failed(session: Session, ctx: Context, row: OutboxMail, event: MailRefused, key: str) -> None:
    case = session.get(Case, row.case_id) if row.case_id else None
    state = verified_state(session, case) if case else None
    t = advance(ctx.rules, state, event, ctx.now)
    said = {"kind": row.kind.replace("_", " "), "recipient": row.recipient, "error": (event.detail or "")[:300],
            "reported": event.reported}
    if case is not None:
        apply(session, ctx, case, t, key=key, extra=said)
        return
    values = {"partnership": ctx.partnership.name, "address": ctx.partnership.address, "ref": None,
              "severity": event.severity, "reason": None, **said}
    post(session, ctx, None, key, [Letter(tell.kind, to, values) for tell in t.tell for to in tell.to], [])


def authenticated(ctx: Context, msg: ParsedMessage) -> str | None:
    """What the partnership's own receiving server said of the sender ("dmarc=pass"), for
    the record beside the address; None where no trusted server said anything."""
    trust = trust_settings(ctx.partnership.security)
    verdict = judge(msg.head, trust) if trust is not None else None
    return verdict.reason if verdict is not None and verdict.passed else None
