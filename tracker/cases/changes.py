"""Case changes: opening a case from an intake, and applying a reply. One transaction each,
owned by the caller; every change writes its record entries and its outgoing mail rows."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace

import sqlalchemy as sa

from sqlmodel import Session, select

from parser import IntakeFields, ParsedMessage
from tracker.policy import machine
from tracker.cases import record
from tracker.outgoing.letters import audience, case_values, deadline_rows, letters, when
from tracker.storage.models import Case, OutboxMail, Party, RefCounter
from tracker.outgoing.outbox import Letter, enqueue_many, insert_pending, pending_row


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Context:
    """What every case change needs: the partnership's settings, the composer, and now."""

    partnership: object  # tracker.config.load.PartnershipConfig
    composer: object  # mailer.compose.Composer
    now: datetime


def next_refs(session: Session, year: int, count: int = 1) -> list[str]:
    """The year's next `count` references. The UPDATE locks the counter row until commit, so
    two instances never hand out the same number (two first-of-the-year inserts collide on
    the primary key instead, and the loser's batch is redone)."""
    t = RefCounter.__table__
    last = session.execute(t.update().where(t.c.year == year).values(last=t.c.last + count)
                           .returning(t.c.last)).scalar()
    if last is None:
        last = count
        session.execute(t.insert().values(year=year, last=last))
    return [f"ESC-{year}-{n:04d}" for n in range(last - count + 1, last + 1)]


def parties(session: Session, case: Case) -> list[Party]:
    return list(session.exec(select(Party).where(Party.case_id == case.id).order_by(Party.id)))


def send(session: Session, ctx: Context, case: Case | None, event_seq: int | str, batch: list[Letter],
         thread: list[str]) -> list[int]:
    keyed = _outgoing(session, ctx, case, event_seq, batch)
    ids = enqueue_many(session, ctx.partnership, keyed, case_id=case.id if case else None,
                       ref=case.ref if case else None, thread=thread, now=ctx.now)
    if case is not None:
        record.append_many(session, case, _queued(ctx, keyed, ids))
    return [row_id for row_id in ids if row_id is not None]


def _outgoing(session: Session, ctx: Context, case: Case | None, event_seq: int | str,
              batch: list[Letter]) -> list[tuple[Letter, str]]:
    """The letters that go (within the reply limit, with their documents), each with its
    idempotency key."""
    batch = [letter for letter in batch if not _over_reply_limit(session, ctx, letter)]
    docs: dict[str, tuple] = {}
    batch = [_with_documents(session, ctx, case, letter, docs) for letter in batch]
    return [(letter, f"{case.ref if case else 'none'}/{event_seq}/{letter.to}/{letter.kind}") for letter in batch]


def _queued(ctx: Context, keyed: list[tuple[Letter, str]], ids: list[int | None]) -> list[dict]:
    """The record entries for the letters just queued (none for a key queued before)."""
    return [dict(at=ctx.now, kind="mail_out", actor="service", outbox_id=row_id,
                 summary=f"{letter.kind} queued for {letter.to}")
            for (letter, _), row_id in zip(keyed, ids) if row_id is not None]


# Answers to a person's own mail: the kinds a stranger or a loop could make us send.
ANSWER_KINDS = ("invalid_intake", "not_a_party", "out_of_scope", "refused", "closed_case", "no_keyword",
                "final_stage")


def _over_reply_limit(session: Session, ctx: Context, letter: Letter) -> bool:
    """At most N automatic answers to one address a day: no mail storms, whoever writes."""
    if letter.kind not in ANSWER_KINDS:
        return False
    since = ctx.now - timedelta(days=1)
    sent = session.exec(select(sa.func.count()).select_from(OutboxMail).where(
        OutboxMail.recipient == letter.to, OutboxMail.kind.in_(ANSWER_KINDS),
        OutboxMail.created_at > since)).one()
    if sent >= ctx.partnership.security.max_replies_per_address_per_day:
        log.warning("reply limit reached for one address; %s not sent", letter.kind)
        return True
    return False


def _with_documents(session: Session, ctx: Context, case: Case | None, letter: Letter,
                    made: dict[str, tuple]) -> Letter:
    """Deadline notices carry a calendar entry; the resolution confirmation the whole record.
    Each document is made once per batch (`made`), so every recipient gets the same one."""
    from tracker.outgoing import documents

    if case is None:
        return letter
    if letter.kind not in made:
        if letter.kind in documents.DEADLINE_KINDS:
            made[letter.kind] = (documents.deadline_ics(ctx.partnership, case, ctx.now),)
        elif letter.kind == "resolved":
            made[letter.kind] = (documents.case_record_attachment(session, ctx.partnership, case,
                                                                  parties(session, case)),)
        else:
            made[letter.kind] = ()
    extra = made[letter.kind]
    if not extra:
        return letter
    return Letter(letter.kind, letter.to, letter.values, letter.in_reply_to, letter.auto,
                  tuple(letter.attachments) + extra)


def open_cases(session: Session, ctx: Context, intakes: list[tuple[ParsedMessage, int]]) -> list[SimpleNamespace]:
    """Open a case for each (intake, inbound message id), all at once: one statement per
    table for the whole list (cases, parties, outbox rows, record entries), so a backlog's
    batch costs a handful of round trips rather than a dozen per case. Each case comes
    back as its columns' values (no ORM object)."""
    if not intakes:
        return []
    p = ctx.partnership
    refs = next_refs(session, p.calendar.local(ctx.now).year, len(intakes))
    opened = [_new_case(p, ctx.now, msg, ref) for (msg, _), ref in zip(intakes, refs)]
    table = Case.__table__
    ids = dict(session.execute(table.insert().returning(table.c.ref, table.c.id),
                               [{c: getattr(case, c) for c in _CASE_DEFAULTS} for case in opened]).all())
    people: dict[str, list[SimpleNamespace]] = {}
    for case, (msg, _) in zip(opened, intakes):
        case.id = ids[case.ref]
        mine = [SimpleNamespace(**row) for row in _intake_party_rows(case, msg.fields, msg.sender)]
        if case.stage != p.policy.first().key:
            mine += [SimpleNamespace(**row) for row in _stage_party_rows(case, mine, p.policy.stage(case.stage),
                                                                         p.directory)]
        people[case.ref] = mine
    session.execute(sa.insert(Party.__table__), [vars(x) for mine in people.values() for x in mine])
    keyed = [_outgoing(session, ctx, case, "opened", _opening_letters(p, case, people[case.ref], msg))
             for case, (msg, _) in zip(opened, intakes)]
    queued = insert_pending(session, [pending_row(p, letter, key, case.id, case.ref, [case.thread_id], ctx.now)
                                      for case, mine in zip(opened, keyed) for letter, key in mine])
    logs = []
    for case, (msg, inbound_id), mine in zip(opened, intakes, keyed):
        record.begin(session, case)
        entry = dict(at=ctx.now, kind="opened", actor=msg.fields.raised_by.email or msg.sender,
                     summary=f"case opened at stage {case.stage} ({p.policy.stage(case.stage).name})",
                     inbound_id=inbound_id)
        logs.append((case, [entry] + _queued(ctx, mine, [queued.get(key) for _, key in mine])))
    record.append_each(session, logs)
    return opened


# Every column of a new case with its default: a case being opened is plain values, not an
# ORM object (building 50 of those was a tenth of a backlog batch's time).
_CASE_DEFAULTS = {c.name: c.default.arg if c.default is not None else None
                  for c in Case.__table__.columns if c.name != "id"}


def _new_case(p, now: datetime, msg: ParsedMessage, ref: str) -> SimpleNamespace:
    """The case an intake opens (not yet written): its columns as attributes."""
    f: IntakeFields = msg.fields
    raised = now  # when we received it: a sender's Date header can lie
    stage = p.policy.start_stage(bool(f.immediate_risk))
    due = p.calendar.due(raised, 0 if f.immediate_risk else stage.working_days)
    return SimpleNamespace(id=None, **{
        **_CASE_DEFAULTS,
        "ref": ref, "partnership": p.id, "policy": p.policy.name, "stage": stage.key, "about": f.about,
        "immediate_risk": bool(f.immediate_risk), "category": f.category, "client_reference": f.case_reference,
        "decision_disputed": f.decision_disputed, "decision_date": f.decision_date, "reasons": f.reasons,
        "outcome_sought": f.outcome_sought, "discussions": f.discussions, "raised_at": raised,
        "stage_started_at": raised, "stage_due_at": due, "remind_at": reminder_time(p.calendar, raised, due),
        "thread_id": f"{ref}.thread@{p.domain}",
        "raiser_agency": _agency(f.raised_by, msg.sender), "other_agency": _agency(f.other_party, None),
    })


def _opening_letters(p, case: Case, people: list, msg: ParsedMessage) -> list[Letter]:
    """Confirmation to the raiser, notice to the other party, and the immediate-risk alert."""
    values = case_values(p, case, people, extra={
        "deadlines": deadline_rows(p, case),
        "warnings": [w.message for w in msg.warnings],
    })
    kinds = ["confirmation", "notice"] + (["immediate_risk_alert"] if case.immediate_risk else [])
    batch = letters(kinds, lambda k: audience(k, people, case, p, msg.sender), values)
    return [_threaded(letter, msg.message_id) for letter in batch]


def _agency(who, fallback_email: str | None) -> str | None:
    """The agency as written, else the email domain: enough for counts by agency."""
    if who and who.agency:
        return who.agency
    email = (who.email if who else None) or fallback_email
    return email.rpartition("@")[2] if email else None


def _threaded(letter: Letter, intake_id: str | None) -> Letter:
    if letter.kind == "confirmation" and intake_id:
        return Letter(letter.kind, letter.to, letter.values, in_reply_to=intake_id, auto="auto-replied")
    return letter


def _intake_party_rows(case: Case, f: IntakeFields, sender: str | None) -> list[dict]:
    """The four people an intake names (the raiser is the sender if not named), as rows."""
    rows = [("raiser", "raiser", f.raised_by), ("raiser_manager", "raiser", f.raiser_manager),
            ("other_party", "other", f.other_party), ("other_manager", "other", f.other_manager)]
    new = []
    for role, side, who in rows:
        email = (who.email if who else None) or (sender if role == "raiser" else None)
        if email:
            new.append(dict(case_id=case.id, role=role, side=side, email=email.lower(),
                            name=who.name if who else None, title=who.role if who else None,
                            agency=who.agency if who else None, stage=None))
    return new


def sender_on_case(people: list[Party], sender: str | None, case: Case, policy) -> machine.Sender:
    mine = [p for p in people if sender and p.email == sender.lower()]
    stage = policy.stage(case.stage)
    intake_roles = {r for role in stage.parties for r in machine.INTAKE_ROLE_FOR.get(role, ())}
    acts = any(p.role == "raiser" or p.role in intake_roles or p.stage == case.stage for p in mine)
    return machine.Sender(is_party=bool(mine), is_raiser=any(p.role == "raiser" for p in mine), acts_at_stage=acts)


def apply_reply(session: Session, ctx: Context, msg: ParsedMessage, case: Case, inbound_id: int) -> machine.Decision:
    p = ctx.partnership
    people = parties(session, case)
    who = sender_on_case(people, msg.sender, case, p.policy)
    nxt = p.policy.next_stage(case.stage)
    state = machine.CaseState(case.status, case.stage, nxt.key if nxt else None,
                              p.policy.stage(case.stage).may_request_conference, case.acknowledged_at is not None)
    decision = machine.decide(state, msg.command, who)
    if not who.is_party:
        # Reveal nothing about a case to someone who is not on it; do not touch its record.
        _answer_stranger(session, ctx, msg, inbound_id)
        return decision
    event = record.append(session, case, at=ctx.now, kind=decision.outcome if decision.allowed else "refused",
                          actor=msg.sender, summary=_summary(msg, decision), statement=msg.statement,
                          inbound_id=inbound_id)
    if decision.allowed:
        _change(session, ctx, case, decision, msg)
        _flag(case, msg)
    if decision.stage:
        escalate(session, ctx, case, decision.stage, event.seq, reason="reply", statement=msg.statement,
                 actor=msg.sender)
        return decision
    people = parties(session, case)
    values = case_values(p, case, people, statement=msg.statement, actor=msg.sender,
                         extra={"refusal": decision.outcome, "command": msg.command})
    batch = letters(decision.tell, lambda k: audience(k, people, case, p, msg.sender), values,
                    in_reply_to=msg.message_id)
    send(session, ctx, case, event.seq, batch, [case.thread_id])
    return decision


def _flag(case: Case, msg: ParsedMessage) -> None:
    """Policy gaps and debrief requests, for the Board: flags only, the words stay in the record."""
    text = (msg.statement or "").lower()
    if "policy gap" in text:
        case.policy_gap_flagged = True
    if "debrief" in text:
        case.debrief_requested = True


def escalate(session: Session, ctx: Context, case: Case, key: str, event_seq: int, *, reason: str,
             statement: str | None = None, actor: str | None = None, late: str | None = None) -> None:
    """Move `case` to stage `key`, tell the new stage's people (with the history so far) and
    the raiser; if nobody is known for the stage, ask business support to route it."""
    p = ctx.partnership
    move_to_stage(session, ctx, case, key)
    people = parties(session, case)
    kinds = ["escalated", "escalation_feedback"]
    if not audience("escalated", people, case, p, None):
        kinds.append("route_request")
        record.append(session, case, at=ctx.now, kind="needs_routing", actor="service",
                      summary=f"nobody known for stage {case.stage}: business support asked to route it")
    values = case_values(p, case, people, statement=statement, actor=actor, extra={
        "reason": reason, "late": late,
        "history": [{"at": when(p, e.at), "summary": e.summary, "statement": e.statement}
                    for e in record.events(session, case) if e.kind != "mail_out"],
    })
    batch = letters(kinds, lambda k: audience(k, people, case, p, None), values)
    send(session, ctx, case, event_seq, batch, [case.thread_id])


def _summary(msg: ParsedMessage, d: machine.Decision) -> str:
    cmd = (msg.command or "no keyword").replace("_", " ")
    return f"{cmd} from {msg.sender}" + ("" if d.allowed else f": not accepted ({d.outcome.replace('_', ' ')})")


def _change(session: Session, ctx: Context, case: Case, d: machine.Decision, msg: ParsedMessage) -> None:
    if d.outcome == "acknowledged":
        case.acknowledged_at = ctx.now
    if d.status:
        case.status = d.status
        case.closed_at = ctx.now
        if d.status == "resolved":
            case.outcome = msg.statement
    session.add(case)
    session.flush()


def move_to_stage(session: Session, ctx: Context, case: Case, key: str) -> None:
    p = ctx.partnership
    stage = p.policy.stage(key)
    case.stage = key
    case.stage_started_at = ctx.now
    case.stage_due_at = p.calendar.due(ctx.now, 0 if case.immediate_risk else stage.working_days)
    case.remind_at = reminder_time(p.calendar, ctx.now, case.stage_due_at)
    case.acknowledged_at = None
    case.expiry_handled_at = None
    session.add(case)
    _add_stage_parties(session, case, stage, p.directory)


def reminder_time(calendar, start: datetime, due: datetime) -> datetime | None:
    """One working day before `due` (the close of the previous working day), if after `start`."""
    local_due = calendar.local(due).date()
    at = calendar.close_of(calendar.previous_working_day(local_due))
    return at if at > start else None


def _add_stage_parties(session: Session, case: Case, stage, directory) -> None:
    rows = _stage_party_rows(case, parties(session, case), stage, directory)
    if rows:
        session.execute(sa.insert(Party.__table__), rows)


def _stage_party_rows(case: Case, people: list, stage, directory) -> list[dict]:
    """The people who act at `stage` and are not yet on the case at it, as rows: managers
    named in the intake first, then the agency directory for each side's agency, then the
    Board's people."""
    present = {x.email for x in people if x.stage == stage.key}
    sides = {x.side: x.email for x in people if x.role in ("raiser", "other_party")}
    new = []

    def add(role: str, side: str, email: str, name=None, title=None, agency=None) -> None:
        if email not in present:
            present.add(email)
            new.append(dict(case_id=case.id, role=role, side=side, email=email, name=name, title=title,
                            agency=agency, stage=stage.key))

    for role in stage.parties:
        named = [x for x in people if x.stage is None and x.role in machine.INTAKE_ROLE_FOR.get(role, ())]
        for who in named:
            add(who.role, who.side, who.email, who.name, who.title, who.agency)
        covered = {who.side for who in named}
        for side, email in sides.items():
            if side in covered or role == "practitioner" or directory is None:
                continue
            agency = directory.agency_of(email)
            for c in (agency.people.get(role, ()) if agency else ()):
                add(role, side, c.email, c.name, c.title, agency.name)
        for c in (directory.board or {}).get(role, ()) if directory else ():
            add(role, "board", c.email, c.name, c.title, "Board")
    return new


def _answer_stranger(session: Session, ctx: Context, msg: ParsedMessage, inbound_id: int) -> None:
    if not msg.sender:
        return
    values = {"partnership": ctx.partnership.name, "address": ctx.partnership.address, "ref": None}
    batch = [Letter("not_a_party", msg.sender, values, in_reply_to=msg.message_id, auto="auto-replied")]
    send(session, ctx, None, f"in{inbound_id}", batch, [])


def delivery_failed(session: Session, ctx: Context, row_id: int, error: str) -> None:
    """Record a permanent refusal on the case and tell business support (never about a
    failed notice of a failure, which could loop)."""
    row = session.get(OutboxMail, row_id)
    if row is None or row.kind == "delivery_failed":
        return
    case = session.get(Case, row.case_id) if row.case_id else None
    seq: int | str = f"fail{row_id}"
    if case is not None:
        seq = record.append(session, case, at=ctx.now, kind="delivery_failed", actor="service",
                            summary=f"{row.kind} to {row.recipient} refused by the mail server").seq
    values = {"partnership": ctx.partnership.name, "address": ctx.partnership.address,
              "ref": case.ref if case else None, "kind": row.kind.replace("_", " "),
              "recipient": row.recipient, "error": error[:300]}
    batch = [Letter("delivery_failed", to, values) for to in ctx.partnership.business_support]
    send(session, ctx, case, seq, batch, [case.thread_id] if case else [])
