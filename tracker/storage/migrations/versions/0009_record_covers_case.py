"""the case record covers the case: entries hash the case's state; the case points at its head

Every existing record is re-anchored: one entry, `record_anchored`, is added to each case's
chain, holding the case's values and people as they stand at upgrade and chained onto the
entry before. Entries written before it keep their hashes (record.verify still checks them
in their own form); they cannot show what the case's values were when they were written.

The snapshot is written out here as it stood at this revision (not imported from
tracker/cases/snapshot.py, which will grow with the schema): what this migration hashed
must stay what it hashed.

Revision ID: 0009
Revises: 0008
"""
import hashlib
import json
from datetime import date, datetime, timezone

from alembic import op
import sqlalchemy as sa
import tracker.storage.db


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

GENESIS = "0" * 64
_TIMES = ("raised_at", "stage_started_at", "stage_due_at", "acknowledged_at", "remind_at", "expiry_handled_at",
          "closed_at", "referred_to_board_at", "purged_at", "clock_stopped_at")
_FLAGS = ("immediate_risk", "policy_gap_flagged", "debrief_requested", "looked_after", "conference")
COVERED = ("ref", "partnership", "policy", "stage", "status", "about", "immediate_risk", "category",
           "client_reference", "decision_disputed", "decision_date", "reasons", "outcome_sought", "discussions",
           "raised_at", "stage_started_at", "stage_due_at", "acknowledged_at", "remind_at", "expiry_handled_at",
           "closed_at", "outcome", "thread_id", "policy_gap_flagged", "debrief_requested", "referred_to_board_at",
           "raiser_agency", "other_agency", "purged_at", "clock_stopped_at", "clock_stopped_for", "looked_after",
           "conference")
TEXT = {"client_reference", "decision_disputed", "reasons", "outcome_sought", "discussions", "outcome"}
PARTY = ("role", "side", "stage", "email", "agency", "name", "title", "bounced")

_UTC = tracker.storage.db.UTCDateTime
case_t = sa.table("case", sa.column("id", sa.Integer), sa.column("decision_date", sa.Date),
                  *(sa.column(c, sa.Boolean) for c in _FLAGS), sa.column("record_seq", sa.Integer),
                  sa.column("record_head", sa.String),
                  *(sa.column(c, _UTC()) for c in _TIMES),
                  *(sa.column(c, sa.String) for c in COVERED if c not in _TIMES and c not in _FLAGS
                    and c != "decision_date"))
party_t = sa.table("party", sa.column("case_id", sa.Integer), sa.column("bounced", sa.Boolean),
                   *(sa.column(c, sa.String) for c in PARTY if c != "bounced"))
event_t = sa.table("event", sa.column("id", sa.Integer), sa.column("case_id", sa.Integer),
                   sa.column("seq", sa.Integer), sa.column("at", _UTC()),
                   *(sa.column(c, sa.String) for c in ("kind", "actor", "stage", "summary", "statement",
                                                       "statement_hash", "prev_hash", "hash", "state_hash",
                                                       "state")),
                   sa.column("inbound_id", sa.Integer), sa.column("outbox_id", sa.Integer))


def _text_hash(value):
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest() if value is not None else None


def _plain(value):
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _snapshot(case, parties) -> str:
    values = {c: _text_hash(case[c]) if c in TEXT else _plain(case[c]) for c in COVERED}
    for flag in _FLAGS:
        values[flag] = bool(values[flag])
    rows = sorted([[_text_hash(p[f]) if f in ("name", "title") else bool(p[f]) if f == "bounced" else p[f]
                    for f in PARTY] for p in parties], key=lambda row: [str(x) if x is not None else "" for x in row])
    return json.dumps({"case": values, "parties": rows}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _digest(prev, ref, e) -> str:
    payload = json.dumps([ref, e["seq"], e["at"].astimezone(timezone.utc).isoformat(), e["kind"], e["actor"],
                          e["stage"], e["summary"], e["statement_hash"], e["inbound_id"], e["outbox_id"],
                          e["state_hash"]], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev + payload).encode()).hexdigest()


def _old_digest(prev, ref, e) -> str:
    payload = json.dumps([ref, e["seq"], e["at"].isoformat(), e["kind"], e["actor"], e["stage"], e["summary"],
                          e["statement_hash"], e["inbound_id"], e["outbox_id"]], ensure_ascii=False,
                         separators=(",", ":"))
    return hashlib.sha256((prev + payload).encode()).hexdigest()


def _anchor(bind, case, now) -> None:
    parties = bind.execute(sa.select(party_t).where(party_t.c.case_id == case["id"])).mappings().all()
    last = bind.execute(sa.select(event_t.c.seq, event_t.c.hash).where(event_t.c.case_id == case["id"])
                        .order_by(event_t.c.seq.desc()).limit(1)).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    state = _snapshot(case, parties)
    entry = dict(case_id=case["id"], seq=seq, at=now, kind="record_anchored", actor="service", stage=case["stage"],
                 summary="the record now covers the case: its values and people as they stood at this upgrade "
                         "are held from here on (the entries before cannot show them)",
                 statement=None, statement_hash=None, inbound_id=None, outbox_id=None, prev_hash=prev,
                 state=state, state_hash=hashlib.sha256(state.encode()).hexdigest())
    entry["hash"] = _digest(prev, case["ref"], entry)
    bind.execute(sa.insert(event_t), [entry])
    bind.execute(sa.update(case_t).where(case_t.c.id == case["id"]).values(record_seq=seq, record_head=entry["hash"]))


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('record_seq', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('record_head', sa.String(), nullable=True))
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state_hash', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('state', sa.Text(), nullable=True))
    bind = op.get_bind()
    now = datetime.now(timezone.utc)
    for case in bind.execute(sa.select(case_t).order_by(case_t.c.id)).mappings().all():
        _anchor(bind, case, now)


def downgrade() -> None:
    """Entries written since the upgrade are hashed again in the older form (which covers
    the entry alone), so the older service still verifies them; the anchors stay as entries."""
    bind = op.get_bind()
    refs = dict(bind.execute(sa.select(case_t.c.id, case_t.c.ref)).all())
    for case_id, ref in refs.items():
        log = bind.execute(sa.select(event_t).where(event_t.c.case_id == case_id).order_by(event_t.c.seq)) \
            .mappings().all()
        prev = GENESIS
        for e in log:
            if e["state_hash"] is not None:
                new = _old_digest(prev, ref, e)
                bind.execute(sa.update(event_t).where(event_t.c.id == e["id"]).values(prev_hash=prev, hash=new))
                prev = new
            else:
                prev = e["hash"]
    # ALTER TABLE ... DROP COLUMN, which SQLite has had since 3.35: a batch copy of "case" would
    # fail on the foreign keys that point at it.
    for table, column in (("event", "state"), ("event", "state_hash"), ("case", "record_head"),
                          ("case", "record_seq")):
        op.drop_column(table, column)
