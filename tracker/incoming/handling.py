"""What each way a message can go (tracker/incoming/rules.py) does with it, inside the
caller's transaction. Intakes that open cases are gathered and opened together when the
caller has handled every message of its batch (`Openings`, tracker/incoming/openings.py):
a batch of one is the same."""
from __future__ import annotations

from sqlmodel import Session, select

from parser import Head, ParsedMessage
from parser.caps import MAX_RAW_BYTES
from tracker.cases.context import Context
from tracker.cases import holds
from tracker.cases.events import Failure, on_bounce, on_reply
from tracker.cases.post import post
from tracker.incoming.authenticity import ambiguity, authentication_problem, tell_sender
from tracker.incoming.openings import PROCESSED, QUARANTINE, Openings, Outcome, start_of_day
from tracker.incoming.rules import INTAKE, REASONS, bad_attachment, intake_problems, kept_attachments, outside_partners
from tracker.outgoing.letter import Letter
from tracker.storage.models import Case, Party

__all__ = ["PROCESSED", "QUARANTINE", "Openings", "Outcome", "handle", "start_of_day"]

# Refused messages whose sender is answered with what was refused and how to send it
# instead, when the sender is a party or writes from a partner agency. Never answered:
# our own mail, automatic replies, delivery reports, mail with no sender, and mail whose
# sender the receiving server could not confirm (answering it would go to whoever was
# impersonated).
ANSWERED = ("attachment", "cut", "invalid")
# Refused for who sent them: told only as tracker/incoming/authenticity.py says (once a day,
# to a From address the receiving server could vouch for, nothing of the message repeated).
SENDER_REFUSED = ("ambiguous_sender", "unauthenticated")


def handle(session: Session, ctx: Context, msg: ParsedMessage | None, inbound_id: int, way: str,
           place: int, openings: Openings, head: Head | None = None) -> Outcome | None:
    """Act on one message that went `way` (`msg` None when it was judged on its `head` alone
    and left unread); None for an intake that waits in `openings`."""
    if way == "bounce" and msg is not None:
        return _bounce(session, ctx, msg, inbound_id)
    if way in SENDER_REFUSED:
        head = msg.head if msg is not None else head
        told = tell_sender(session, ctx, head, way)
        return Outcome(QUARANTINE, f"{way}: {REASONS[way]}: {_why(ctx, head, way)}" + ("; sender told" if told else ""))
    if way in REASONS or msg is None:
        answered = way in ANSWERED and msg is not None and _answer_refused(session, ctx, msg, inbound_id, way)
        return Outcome(QUARANTINE, f"{way}: {REASONS.get(way, way)}" + ("; sender told" if answered else ""))
    if way == INTAKE and not openings.admit(ctx, msg):
        return _flood(session, ctx, msg)
    if way == INTAKE:
        openings.waiting.append((place, msg, inbound_id))
        return None
    if way == "reply":
        return _reply(session, ctx, msg, inbound_id)
    if way == "conduct":
        _answer(session, ctx, msg, inbound_id, "out_of_scope", {})
        return Outcome(PROCESSED, "about a professional's conduct: sent the whistleblowing / allegations route")
    if way == "errors":
        _answer(session, ctx, msg, inbound_id, "invalid_intake", {"errors": intake_problems(ctx, msg)})
        return Outcome(PROCESSED, "intake with errors: sender told what to fix")
    raise ValueError(f"no handling for {way!r}")


def _why(ctx: Context, head: Head | None, way: str) -> str | None:
    return ambiguity(head) if way == "ambiguous_sender" else authentication_problem(ctx.partnership.security, head)


def _reply(session: Session, ctx: Context, msg: ParsedMessage, inbound_id: int) -> Outcome:
    if msg.command == "not_identifying":
        released = holds.release(session, ctx, msg, inbound_id)
        if released is not None:
            return Outcome(PROCESSED, released[0], released[1], keep_raw=True)
    case = session.exec(select(Case).where(Case.ref == msg.case_ref, Case.partnership == ctx.partnership.id)).first()
    if case is None:
        if not msg.via_list:
            _answer(session, ctx, msg, inbound_id, "not_a_party", {"ref": None})  # not even echoed back
        return Outcome(PROCESSED, "reply naming an unknown case: sender told, nothing revealed")
    t = on_reply(session, ctx, msg, case, inbound_id, kept=kept_attachments(msg), answer=not msg.via_list)
    if t.outcome == "record_altered":
        # what was found goes to business support, not here: the reason is logged, and may name no one
        return Outcome(QUARANTINE, f"held, not applied: the record of {case.ref} does not verify; business "
                                   "support told", case.id, keep_raw=True)
    if t.outcome == "held":
        return Outcome(PROCESSED, f"{msg.command} held back on {case.ref}: personal data found; sender told, "
                                  "nothing forwarded", case.id, keep_raw=True, held_as=case.ref)
    if t.outcome == "not_party":
        return Outcome(PROCESSED, "reply from someone not on the case: politely refused, nothing revealed")
    verdict = "applied" if t.allowed else "refused"
    return Outcome(PROCESSED, f"{t.outcome} ({verdict}) on {case.ref}", case.id, keep_raw=True)


def _bounce(session: Session, ctx: Context, msg: ParsedMessage, inbound_id: int) -> Outcome:
    """A delivery report: tied to the mail it reports on, recorded on that case; kept aside.
    Reports come from any server, so no sender rule refuses one (tracker/incoming/rules.py);
    one the receiving server did not confirm only asks business support to check the address."""
    report = msg.bounce
    original = (report.original_message_id if report else None) or next(iter(msg.in_reply_to), None)
    failures = tuple(dict.fromkeys(Failure(r.address, r.severity, r.diagnostic or r.status, r.status)
                                   for r in (report.recipients if report else ())))  # the same line once
    confirmed = authentication_problem(ctx.partnership.security, msg.head) is None
    case_id, done = on_bounce(session, ctx, original, failures, inbound_id, confirmed=confirmed)
    return Outcome(QUARANTINE, f"bounce: {done}", case_id)


def _answer_refused(session: Session, ctx: Context, msg: ParsedMessage, inbound_id: int, way: str) -> bool:
    """Tell a party, or someone writing from a partner agency, what was refused and how to
    send it instead; True if they were told."""
    if not msg.sender or msg.via_list:
        return False
    party = msg.case_ref and session.exec(select(Party.id).join(Case, Case.id == Party.case_id).where(
        Case.ref == msg.case_ref, Case.partnership == ctx.partnership.id, Party.email == msg.sender)).first()
    if not party and outside_partners(ctx, msg):
        return False
    limit = ctx.partnership.security.max_attachment_bytes // 1_000_000
    name, why = bad_attachment(ctx, msg) if way == "attachment" else (None, None)
    _answer(session, ctx, msg, inbound_id, "not_accepted", {
        "way": way, "attachment": name, "why": why, "limit_mb": limit, "total_mb": MAX_RAW_BYTES // 1_000_000,
        "ref": msg.case_ref if party else None})
    return True


def _answer(session: Session, ctx: Context, msg: ParsedMessage, inbound_id: int, kind: str, extra: dict) -> None:
    """Answer the sender; never a list or group (its members did not write)."""
    if msg.via_list:
        return
    values = {"partnership": ctx.partnership.name, "address": ctx.partnership.address, "ref": msg.case_ref,
              "subject": msg.subject, **extra}
    letter = Letter(kind, msg.sender, values, in_reply_to=msg.message_id, auto="auto-replied")
    post(session, ctx, None, f"in{inbound_id}", [letter], [])


def _flood(session: Session, ctx: Context, msg: ParsedMessage) -> Outcome:
    """One address past its new cases for the day: nothing opened; it is told once that day,
    and business support once, so a flood (or a forged sender) cannot become a mail bomb."""
    p, day = ctx.partnership, ctx.partnership.calendar.local(ctx.now).date().isoformat()
    limit = p.security.max_new_cases_per_sender_per_day
    values = {"partnership": p.name, "address": p.address, "ref": None, "limit": limit, "sender": msg.sender,
              "business_support": list(p.business_support)}
    post(session, ctx, None, f"flood{day}", [Letter("too_many_cases", msg.sender, values,
                                                    in_reply_to=msg.message_id, auto="auto-replied")], [])
    post(session, ctx, None, f"flood{day}/{msg.sender}",
         [Letter("flood_alert", to, values) for to in p.business_support], [])
    return Outcome(QUARANTINE, f"flood: more than {limit} new cases from this sender today; not opened "
                               "(the sender and business support are told once a day)")
