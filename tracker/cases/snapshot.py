"""What the case record commits to besides its entries: the case's values and its people,
as each entry leaves them (tracker/cases/record.py).

A snapshot is plain JSON. Free text (the intake's words, the agreed outcome, people's
names and titles) is held by its SHA-256 only: retention purges the words (then a "purged"
entry records the purged values), and the record must not carry a second copy of what
identifies anyone. Everything else is held as it is, so a difference can be named
("stage: the record says 2, the case says 3").

Which columns are covered is written out, not read from the table: a column added later
must be placed here on purpose (tests/test_record.py fails until it is), with a migration
that re-anchors the records, or every existing record would stop verifying.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timezone

# The case's columns the record covers (all but its row id and the pointer to the record's head).
COVERED = ("ref", "partnership", "policy", "stage", "status", "about", "immediate_risk", "category",
           "client_reference", "decision_disputed", "decision_date", "reasons", "outcome_sought", "discussions",
           "raised_at", "stage_started_at", "stage_due_at", "acknowledged_at", "remind_at", "expiry_handled_at",
           "closed_at", "outcome", "thread_id", "policy_gap_flagged", "debrief_requested", "referred_to_board_at",
           "raiser_agency", "other_agency", "purged_at", "clock_stopped_at", "clock_stopped_for", "looked_after",
           "conference")
NOT_COVERED = ("id", "record_seq", "record_head")
TEXT = frozenset({"client_reference", "decision_disputed", "reasons", "outcome_sought", "discussions", "outcome"})
PARTY = ("role", "side", "stage", "email", "agency", "name", "title", "bounced")
PARTY_TEXT = frozenset({"name", "title"})


def text_hash(value: str | None) -> str | None:
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest() if value is not None else None


def _plain(value):
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def snapshot(case, people) -> dict:
    """{"case": {column: value}, "parties": [[role, side, stage, email, agency, name, title], ...]}
    for a case (a Case row or the values of one being opened) and its people (Party rows or
    Person values), people sorted so that the order rows come back in does not matter."""
    values = {c: text_hash(getattr(case, c)) if c in TEXT else _plain(getattr(case, c)) for c in COVERED}
    parties = sorted([[text_hash(getattr(p, f)) if f in PARTY_TEXT else getattr(p, f) for f in PARTY]
                      for p in people], key=lambda row: [str(x) if x is not None else "" for x in row])
    return {"case": values, "parties": parties}


def dumps(snap: dict) -> str:
    return json.dumps(snap, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def state_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def differences(held: dict, live: dict) -> str | None:
    """What differs between the state the record holds and the case as it is, in words;
    None when they agree."""
    said = []
    changed = [c for c in COVERED if held["case"].get(c) != live["case"].get(c)]
    if changed:
        said.append("case values changed outside the record: " + ", ".join(_change(c, held, live) for c in changed))
    gone, new = _multiset_minus(held["parties"], live["parties"]), _multiset_minus(live["parties"], held["parties"])
    if gone or new:
        words = [f"added {_who(p)}" for p in new] + [f"removed {_who(p)}" for p in gone]
        said.append("parties changed outside the record: " + ", ".join(words))
    return "; ".join(said) or None


def _change(column: str, held: dict, live: dict) -> str:
    if column in TEXT:
        return f"{column} (its text is not what the record holds)"
    return f"{column} (the record says {held['case'].get(column)!r}, the case has {live['case'].get(column)!r})"


def _who(row: list) -> str:
    p = dict(zip(PARTY, row))
    return f"{p['role']}{' at stage ' + p['stage'] if p['stage'] else ''} {p['email']}"


def _multiset_minus(a: list, b: list) -> list:
    rest = list(b)
    out = []
    for row in a:
        if row in rest:
            rest.remove(row)
        else:
            out.append(row)
    return out
