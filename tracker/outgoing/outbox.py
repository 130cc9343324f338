"""The durable outbox: mail rows written with the change that caused them, sent once.

Enqueue happens inside the caller's transaction and keeps the letter (kind, values,
envelope); tracker.outgoing.drain composes and sends what is due over one transport connection. The
Message-ID is fixed at enqueue, so if the process dies after the server's 250 but before
the row is marked sent, the one resend carries the same Message-ID and mail clients show
it once.
"""
from __future__ import annotations

import base64
import dataclasses
import json
import re
import secrets
from datetime import date, datetime
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, select

from mailer.compose import Attachment, Composer, Envelope
from tracker.outgoing.ics import MAKERS
from tracker.outgoing.letter import Later, Letter
from tracker.storage.models import OutboxMail


def message_id(kind: str, ref: str | None, domain: str, token: str | None = None) -> str:
    """A new Message-ID; carries the case reference so replies match. Its 16 hex digits are
    random (64 bits from `secrets`), never derived from the idempotency key: that key is made
    of what anyone can know (case reference, change, address, kind), so a derived ID could be
    computed by a stranger and quoted in a forged delivery report. It is fixed once, when the
    outbox row is written (`pending_row`), and kept in the row: a resend after a crash carries
    the same ID. `token`: given 16 hex digits instead (tests)."""
    token = token or secrets.token_hex(8)
    return f"{ref or 'ESC-NONE'}.{kind}.{token}@{domain}"


_OWN_ID_RE = re.compile(r"(?:ESC-\d{4}-\d{4,}|ESC-NONE)\.[a-z0-9_]{1,40}\.[0-9a-f]{16}@(.{1,255})", re.IGNORECASE)


def is_own_message_id(mid: str | None, domain: str) -> bool:
    """Is `mid` one that `message_id` makes for `domain`? (Our own mail back, whatever
    headers were stripped on the way: a Message-ID is kept by every forwarder.)

    >>> is_own_message_id(message_id("notice", "ESC-2026-0042", "p.example.test"), "P.example.test")
    True
    """
    match = _OWN_ID_RE.fullmatch(mid or "")
    return bool(match) and match.group(1).lower() == domain.lower()


def enqueue(session: Session, *, partnership, letter: Letter, idem_key: str, case_id: int | None,
            ref: str | None, thread: list[str], now: datetime, head: str | None = None) -> int | None:
    """Write the letter as a pending row; returns its id, or None if that key was already queued."""
    return enqueue_many(session, partnership, [(letter, idem_key)], case_id=case_id, ref=ref, thread=thread,
                        now=now, head=head)[0]


def enqueue_many(session: Session, partnership, letters: list[tuple[Letter, str]], *, case_id: int | None,
                 ref: str | None, thread: list[str], now: datetime, head: str | None = None) -> list[int | None]:
    """Write each (letter, idempotency key) as a pending row, in the caller's transaction;
    returns the new rows' ids, None for a key already queued. One INSERT for all of them
    (ON CONFLICT DO NOTHING on the key: a key already queued is skipped by the database).

    A row holds the letter's kind, template values and envelope as JSON; the sender composes
    the bytes (`compose`). Composing at send time keeps a backlog's ingest to the case change
    itself, and the bytes are the same whenever they are made: the Message-ID, the Date and
    the MIME boundaries are fixed here, and so is `head`, the case record's head that the
    mail carries (tracker.cases.record.head_text)."""
    ids = insert_pending(session, [pending_row(partnership, letter, key, case_id, ref, thread, now, head)
                                   for letter, key in letters])
    return [ids.pop(key, None) for _, key in letters]  # a key twice in `letters`: its first gets the id


def insert_pending(session: Session, rows: list[dict]) -> dict[str, int]:
    """Write pending rows (`pending_row`), whatever case each is for, in one INSERT ... ON
    CONFLICT (idem_key) DO NOTHING; returns {idempotency key: id} of the rows written (a key
    already queued is skipped by the database; a key twice in `rows` is written once, the
    first)."""
    first: dict[str, dict] = {}
    for row in rows:
        first.setdefault(row["idem_key"], row)
    if not first:
        return {}
    table = OutboxMail.__table__
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)
    stmt = insert.on_conflict_do_nothing(index_elements=["idem_key"]).returning(table.c.idem_key, table.c.id)
    return dict(session.execute(stmt, list(first.values())).all())


def pending_row(partnership, letter: Letter, idem_key: str, case_id: int | None, ref: str | None,
                thread: list[str], now: datetime, head: str | None = None) -> dict:
    """The column values of a new outbox row (see `enqueue`). `head`: the case record's head
    when the mail was queued, carried in a header (X-Escalations-Record) and in the footer
    (the template value `record_head`), so its recipients hold what the record was."""
    mid = message_id(letter.kind, ref, partnership.domain)
    envelope = {
        "sender": partnership.address, "sender_name": partnership.display_name, "to": letter.to,
        "message_id": mid, "date": partnership.calendar.local(now), "marker": partnership.id,
        "in_reply_to": letter.in_reply_to or (thread[-1] if thread else None),
        "references": list(dict.fromkeys(thread + ([letter.in_reply_to] if letter.in_reply_to else []))),
        "auto": letter.auto, "record": head,
    }
    attachments = [{"make": a.maker, "args": a.args} if isinstance(a, Later) else
                   {"filename": a.filename, "content_type": a.content_type, "data": base64.b64encode(a.data).decode(),
                    **({"content_id": a.content_id} if a.content_id else {})}
                   for a in letter.attachments]
    payload = json.dumps({"kind": letter.kind, "values": {**letter.values, "record_head": head}, "envelope": envelope,
                          "attachments": attachments}, default=_plain, ensure_ascii=False, separators=(",", ":"))
    return dict(idem_key=idem_key, partnership=partnership.id, case_id=case_id, kind=letter.kind,
                recipient=letter.to, message_id=mid, letter=payload, created_at=now, next_attempt_at=now)


def _plain(value):
    """Template values as JSON: table rows as dicts, times as ISO text (templates only show
    them or test them for truth); anything else is a mistake to catch at enqueue."""
    if isinstance(value, SQLModel):
        return value.model_dump()
    if isinstance(value, SimpleNamespace):  # a case being opened (cases.open_cases)
        return vars(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"a template value of type {type(value).__name__} cannot be kept in the outbox")


def bytes_of(composer: Composer, row: OutboxMail) -> bytes:
    """A row's mail: the bytes as sent, or as they will be sent."""
    return row.raw if row.raw is not None else compose(composer, row.letter)


def compose(composer: Composer, letter_json: str) -> bytes:
    """The bytes of a queued letter."""
    d = json.loads(letter_json)
    env = d["envelope"]
    envelope = Envelope(**{**env, "date": datetime.fromisoformat(env["date"]),
                           "references": tuple(env["references"])},
                        attachments=tuple(MAKERS[a["make"]](a["args"]) if "make" in a else
                                          Attachment(a["filename"], a["content_type"], base64.b64decode(a["data"]),
                                                     a.get("content_id"))
                                          for a in d["attachments"]))
    return composer.compose(d["kind"], d["values"], envelope)


def pending_count(engine: sa.Engine) -> int:
    with Session(engine) as s:
        return s.exec(select(sa.func.count()).select_from(OutboxMail).where(OutboxMail.status == "pending")).one()
