"""How long the weekly digest takes: `python bench/bench_digest.py [N]` (default 100,000).

Fills a fresh SQLite file (the real schema, through tracker.storage.db) with N cases raised over the
two years before Monday 30 November 2026, about 4% of them still open, four record entries
each and some quarantined mail; then builds the digest of week 2026-W48 at Monday 09:00 and
renders it as text, HTML and CSV. Prints wall time (best of 5, and the first, cold run), the
peak of Python allocations during one build (tracemalloc) and the process's peak RSS
(resource.getrusage), beside floors measured in the same run on the same file: a bare
`SELECT category, count(*) ... GROUP BY category` (one scan, no work) and, for contrast,
loading every case as a Case object (what the digest avoids). Last, it adds indexes on
(partnership, raised_at) and (partnership, closed_at), the ones the week filters could use, and
builds again: on SQLite without ANALYZE the planner then walks them for every
`partnership = ?` and the build is several times slower, which is why the model does not
get them. The open-case list uses the existing index on stage_due_at (ORDER BY ... LIMIT).
"""
from __future__ import annotations

import gc
import platform
import random
import resource
import shlex
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mailer.compose import Composer  # noqa: E402
from parser.model import CATEGORIES  # noqa: E402
from tracker.config.load import config_from_dict  # noqa: E402
from tracker.storage.db import create_schema, make_engine  # noqa: E402
from tracker.digest.weekly import build_digest, render_html, render_text, resolution_csv  # noqa: E402
from tracker.digest.render import SHIPPED  # noqa: E402
from tracker.storage.models import Case, Event, InboundMessage  # noqa: E402

NOW = datetime(2026, 11, 30, 9, tzinfo=ZoneInfo("Europe/London"))
WEEK = "2026-W48"
AGENCIES = [f"Agency {i:02d}" for i in range(30)]
SPAN = timedelta(days=730)
PROPOSED = 'CREATE INDEX IF NOT EXISTS ix_bench_raised ON "case" (partnership, raised_at)'


def cases(n: int, partnership, seed: int = 20261130) -> list[dict]:
    rng, cal = random.Random(seed), partnership.calendar
    stages = [(s.key, total) for s, total in partnership.policy.cumulative()]
    start, rows = NOW - SPAN, []
    for i in range(n):
        raised = start + timedelta(seconds=rng.randrange(int(SPAN.total_seconds())))
        key, total = rng.choices(stages, weights=(60, 25, 10, 4, 1))[0]
        took = timedelta(days=rng.randrange(1, total * 2 + 2))
        still_open = raised + took > NOW or rng.random() < 0.02
        rows.append(dict(
            ref=f"ESC-{raised.year}-{i:06d}", partnership=partnership.id, policy="wolverhampton", stage=key,
            status="open" if still_open else rng.choice(("resolved",) * 9 + ("withdrawn",)), about="child",
            immediate_risk=rng.random() < 0.03, category=rng.choice(CATEGORIES), client_reference="c",
            decision_disputed="d", decision_date=raised.date(), reasons="r", outcome_sought="o",
            raised_at=raised, stage_started_at=raised, stage_due_at=cal.due(raised, total),
            closed_at=None if still_open else raised + took, thread_id=f"t{i}",
            policy_gap_flagged=rng.random() < 0.02, debrief_requested=rng.random() < 0.02,
            referred_to_board_at=raised + took if rng.random() < 0.01 and not still_open else None,
            raiser_agency=rng.choice(AGENCIES), other_agency=rng.choice(AGENCIES)))
    return rows


def fill(engine, partnership, n: int, chunk: int = 50_000) -> None:
    rows = cases(n, partnership)
    with engine.begin() as db:
        for i in range(0, len(rows), chunk):
            db.execute(sa.insert(Case.__table__), rows[i:i + chunk])
        ids = [r[0] for r in db.execute(sa.select(Case.__table__.c.id))]
    for i in range(0, len(ids), chunk // 4):
        with engine.begin() as db:
            _events(db, ids[i:i + chunk // 4])
    with engine.begin() as db:
        db.execute(sa.insert(InboundMessage.__table__), [dict(
            mailbox="INBOX", source_key=str(i), sha256=str(i), received_at=NOW - timedelta(hours=i), kind="intake",
            disposition="quarantine", reason="outside_partners: x") for i in range(max(1, n // 20))])
        if db.dialect.name == "postgresql":
            db.exec_driver_sql("ANALYZE")


def _events(db, ids) -> None:
    events = [dict(case_id=cid, seq=k, at=NOW, kind=kind, actor="a", stage="1", summary="s",
                   inbound_id=1 if kind in ("opened", "update") else None, prev_hash="p", hash="h")
              for cid in ids for k, kind in enumerate(("opened", "mail_out", "update", "resolved"), 1)]
    db.execute(sa.insert(Event.__table__), events)


def timed(fn, repeat: int = 1) -> tuple[list[float], object]:
    gc.collect()
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def main(argv: list[str], measure=None) -> None:
    """`bench_digest.py [N] [--postgres]`: --postgres starts a private PostgreSQL (the test
    harness's) on loopback and runs the same measurements there. (bench_desk.py passes its
    own `run(n, url)` as `measure`.)"""
    measure = measure or run
    postgres = "--postgres" in argv
    argv = [a for a in argv if a != "--postgres"]
    n = int(argv[1].replace(",", "").replace("_", "")) if len(argv) > 1 else 100_000
    if not postgres:
        return measure(n, None)
    from testbed.dirs import server_dir
    from testbed.postgres import Postgres

    with Postgres(server_dir("bench-postgres-")) as server:
        measure(n, server.new_database("bench"))


def run(n: int, url: str | None) -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-digest-"))
    url = url or f"sqlite:///{base / 'bench.db'}"
    cfg = config_from_dict({"partnership": {"id": "bench", "business_support": ["business@partnership.example.test"]},
                            "policy": {"preset": "wolverhampton"},
                            "database": {"url": url, "url_env": ""},
                            "inbox": {"path": str(base / "in")}, "outgoing": {"path": str(base / "out")}}, base=base)
    p, engine, composer = cfg.partnership, make_engine(cfg.database_url), Composer([SHIPPED])
    create_schema(engine)
    t0 = time.perf_counter()
    fill(engine, p, n)
    filled = time.perf_counter() - t0
    p.calendar.due(NOW, 0)  # the calendar's span of working days, built once like a running service's

    with Session(engine) as s:
        build = lambda: build_digest(s, p, WEEK, NOW)  # noqa: E731
        cold, digest = timed(build)
        warm, digest = timed(build, 5)
        render, _ = timed(lambda: (render_text(digest, composer), render_html(digest, composer),
                                   resolution_csv(digest.records)), 5)
        tracemalloc.start()
        build()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        bare = "SELECT category, count(*) FROM \"case\" GROUP BY category"
        floor, _ = timed(lambda: s.connection().exec_driver_sql(bare).all(), 5)
        naive, loaded = timed(lambda: s.exec(select(Case)).all())
        s.expunge_all()
        s.connection().exec_driver_sql(PROPOSED)  # an experiment, not the schema: see the docstring
        s.connection().exec_driver_sql(PROPOSED.replace("raised", "closed"))
        indexed, _ = timed(build, 5)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    print(f"command: {shlex.join(sys.orig_argv)}")
    database = f"SQLite {sqlite3.sqlite_version}" if url.startswith("sqlite") else \
        "PostgreSQL " + engine.dialect.server_version_info.__str__()
    print(f"python {platform.python_version()} on {platform.machine()}, {database}, "
          f"{n:,} cases ({digest.open_now:,} open, {len(digest.records):,} closed in {WEEK}, "
          f"{len(loaded):,} loaded by the naive floor); filled in {filled:.1f} s")
    for label, secs in (("build_digest, best of 5", min(warm)), ("build_digest, first (cold) run", cold[0]),
                        ("render text + HTML + CSV, best of 5", min(render)),
                        ("floor: SELECT category, count(*) GROUP BY category", min(floor)),
                        ("contrast: load every Case object", naive[0]),
                        ("build_digest with indexes on raised_at, closed_at", min(indexed))):
        print(f"{label:<52} {secs * 1000:9.1f} ms")
    print(f"{'peak Python allocations during one build':<52} {peak / 2**20:9.1f} MiB (tracemalloc)")
    print(f"{'peak RSS of the whole run':<52} {rss:9.1f} MiB (getrusage, includes the fill and contrast)")
    print("(the last line: extra indexes on (partnership, raised_at|closed_at), not in the model; "
          "SQLite without ANALYZE walks them for every partnership = ?, so they are not proposed)")
    if n <= 100_000:
        print(f"aim: under 2 s for 100,000 cases -> {'met' if min(warm) < 2 else 'NOT met'}")


if __name__ == "__main__":
    main(sys.argv)
