"""Letters about a case into the outbox: each with its idempotency key, its documents, and
an entry on the case's record; automatic answers capped per address and day."""
from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker.cases import calendar, record
from tracker.cases.context import Context
from tracker.outgoing import documents, ics
from tracker.outgoing.letter import Letter
from tracker.outgoing.outbox import enqueue_many
from tracker.cases.state import people_of
from tracker.storage.models import Case, OutboxMail

log = logging.getLogger(__name__)

# Answers to a person's own mail: the kinds a stranger or a loop could make us send.
ANSWER_KINDS = ("invalid_intake", "not_a_party", "out_of_scope", "refused", "closed_case", "no_keyword",
                "final_stage", "too_many_cases", "not_accepted", "duplicate_intake", "support_refused",
                "personal_data", "nothing_held", "sender_not_confirmed")


def post(session: Session, ctx: Context, case: Case | None, key: int | str, batch: list[Letter],
         thread: list[str], ref: str | None = None) -> list[int]:
    """Queue `batch` (see `outgoing`); returns the ids of the rows written. `ref`: the
    reference a letter about no case carries, so that its answer finds its way back (an
    intake held back for personal data)."""
    keyed = outgoing(session, ctx, case, key, batch)
    ids = enqueue_many(session, ctx.partnership, keyed, case_id=case.id if case else None,
                       ref=case.ref if case else ref, thread=thread, now=ctx.now,
                       head=head_of(session, case) if case else None)
    if case is not None:
        record.append_many(session, case, queued(ctx, keyed, ids))
        calendar.remember(session, case, keyed, ids)
    return [row_id for row_id in ids if row_id is not None]


def head_of(session: Session, case) -> str | None:
    """The record's head as it stands, for the mail being queued to carry (the letters'
    own entries follow it): 'ESC-2026-0042 #7 3f9a1c0e5b7d2a48'."""
    at = record.head(session, case)
    return record.head_text(case.ref, *at) if at else None


def outgoing(session: Session, ctx: Context, case: Case | None, key: int | str,
             batch: list[Letter]) -> list[tuple[Letter, str]]:
    """The letters that go (within the reply limit, with their documents), each with its
    idempotency key: case, the change that caused it, recipient and kind."""
    batch = [letter for letter in batch if not _over_reply_limit(session, ctx, letter)]
    made: dict[str, tuple] = {}
    batch = [_with_documents(session, ctx, case, letter, made) for letter in batch]
    return [(letter, f"{case.ref if case else 'none'}/{key}/{letter.to}/{letter.kind}") for letter in batch]


def queued(ctx: Context, keyed: list[tuple[Letter, str]], ids: list[int | None]) -> list[dict]:
    """The record entries for the letters just queued (none for a key queued before)."""
    return [dict(at=ctx.now, kind="mail_out", actor="service", outbox_id=row_id,
                 summary=f"{letter.kind} queued for {letter.to}")
            for (letter, _), row_id in zip(keyed, ids) if row_id is not None]


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


# Letters that carry the whole case record as a document: the parties' written confirmation,
# and what business support and the Board receive, so that no mail asks anyone to run a command.
RECORD_KINDS = frozenset({"resolved", "resolution_record", "final_route", "route_request"})


def _with_documents(session: Session, ctx: Context, case: Case | None, letter: Letter,
                    made: dict[str, tuple]) -> Letter:
    """Deadline notices carry a calendar entry; the resolution confirmation, the Notification
    and the final route the whole record. Each document is made once per batch (`made`), so
    every recipient gets the same one."""
    if case is None or letter.attachments:
        return letter
    kind = "record" if letter.kind in RECORD_KINDS else letter.kind
    if kind not in made:
        if kind in ics.DEADLINE_KINDS:
            made[kind] = (ics.deadline_ics(ctx.partnership, case, ctx.now),)
        elif kind == "record":
            made[kind] = (documents.case_record_attachment(session, ctx.partnership, case,
                                                           people_of(session, case)),)
        else:
            made[kind] = ()
    extra = made[kind]
    if not extra:
        return letter
    return Letter(letter.kind, letter.to, letter.values, letter.in_reply_to, letter.auto,
                  tuple(letter.attachments) + extra)
