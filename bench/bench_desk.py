"""How fast the desk answers with years of cases: `python bench/bench_desk.py [N] [--postgres]`.

Fills a fresh database (SQLite, or with --postgres a private PostgreSQL from the test
harness) with N cases (default 100,000; bench_digest's two years of them, ~4% open) and two
parties each, starts `escalations desk` as its own process (uvicorn), signs in as business
support through a real one-time link, and times, with a real HTTP client (httpx, one
keep-alive connection, requests one after another):

* the floor: the sign-in page, the full layout with no query at all;
* Today;
* a filtered Cases page (open, stage 1, one agency, sorted by due time);
* searches: a case reference, a client reference, a person's name.

Prints p50 and p95 of each and whether the aims are met: Today and the filtered page under
200 ms at the 95th percentile, a search under 300 ms.
"""
from __future__ import annotations

import os
import platform
import random
import secrets
import shlex
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench_digest import cases  # noqa: E402
from bench_digest import main as digest_bench_main  # noqa: E402
from bench.figures import percentile  # noqa: E402
from tracker.config.load import load_config  # noqa: E402
from tracker.desk.signin.links import request_link  # noqa: E402
from tracker.desk.signin.settings import desk_settings  # noqa: E402
from tracker.daemon.clock import SystemClock  # noqa: E402
from tracker.storage.db import create_schema, make_engine, transaction  # noqa: E402
from tracker.storage.models import Case, Party  # noqa: E402

FIRST = ("Casey", "Robin", "Sam", "Alex", "Jordan", "Morgan", "Taylor", "Jamie", "Avery", "Riley")
LAST = ("Tester", "Sample", "Example", "Mock", "Fixture", "Dummy", "Placeholder", "Trial", "Pilot", "Draft")
REPEAT = int(os.environ.get("ESCALATIONS_BENCH_REPEAT", "100"))
SECRET = "ESCALATIONS_BENCH_DESK_SECRET"


def fill(engine, partnership, n: int, chunk: int = 20_000) -> None:
    rows = cases(n, partnership)
    rng = random.Random(7)
    for r in rows:
        r["client_reference"] = f"CR-{rng.randrange(10**8):08d}"
    with engine.begin() as db:
        for i in range(0, n, chunk):
            db.execute(sa.insert(Case.__table__), rows[i:i + chunk])
        ids = [i for (i,) in db.execute(sa.select(Case.__table__.c.id).order_by(Case.__table__.c.id))]
        people = []
        for cid in ids:
            for role, side, domain in (("raiser", "raiser", "council"), ("other_party", "other", "health")):
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                people.append(dict(case_id=cid, role=role, side=side, name=name, title="Worker", agency="A",
                                   email=f"{name.lower().replace(' ', '.')}{rng.randrange(900)}@{domain}.example.test"))
        for i in range(0, len(people), chunk):
            db.execute(sa.insert(Party.__table__), people[i:i + chunk])
        if db.dialect.name == "postgresql":
            db.exec_driver_sql("ANALYZE")


def write_config(base: Path, url: str, port: int) -> Path:
    path = base / "config.toml"
    path.write_text(f"""[partnership]
id = "bench"
business_support = ["business@partnership.example.test"]
[database]
url = "{url}"
url_env = ""
[inbox]
path = "{base / 'in'}"
[outgoing]
path = "{base / 'out'}"
[logging]
level = "WARNING"
[desk]
base_url = "http://127.0.0.1:{port}"
session_secret_env = "{SECRET}"
""")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, proc: subprocess.Popen) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit("escalations desk exited")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("escalations desk did not start")


def times(send, repeat: int = REPEAT) -> list[float]:
    send()  # warm: the first request of a kind pays for compiling its templates and statements
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = send()
        out.append(time.perf_counter() - t0)
        assert r.status_code == 200, r.status_code
    return out


def sign_in(client: httpx.Client, config: Path, engine) -> None:
    cfg = load_config(config)
    with transaction(engine) as s:
        link = request_link(s, cfg.partnership, desk_settings(cfg), "business@partnership.example.test",
                            SystemClock().now())
    page = client.get(link).text
    token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert client.post(link, data={"csrf": token}).status_code == 303


def run(n: int, url: str | None) -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-desk-"))
    url = url or f"sqlite:///{base / 'bench.db'}"
    port = _free_port()
    config = write_config(base, url, port)
    cfg = load_config(config)
    engine = make_engine(cfg.database_url)
    create_schema(engine)
    t0 = time.perf_counter()
    fill(engine, cfg.partnership, n)
    filled = time.perf_counter() - t0
    with engine.connect() as db:
        sample = db.execute(sa.select(Case.ref, Case.client_reference).where(Case.status == "open").limit(1)).one()
        person = db.execute(sa.select(Party.name).limit(1)).scalar_one()
    env = dict(os.environ, **{SECRET: secrets.token_urlsafe(48)})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "tracker.cli", "--config", str(config), "desk", "--port", str(port)]
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdin=subprocess.DEVNULL,
                            stdout=open(base / "desk.log", "wb"), stderr=subprocess.STDOUT)
    try:
        _wait(port, proc)
        results = measure(f"http://127.0.0.1:{port}", config, engine, sample, person)
    finally:
        proc.terminate()
        proc.wait(10)
    report(n, url, engine, filled, results, " ".join(command[2:]))


def measure(site: str, config: Path, engine, sample, person: str) -> list[tuple[str, list[float], float | None]]:
    with httpx.Client(base_url=site, timeout=30) as anonymous, httpx.Client(base_url=site, timeout=30) as c:
        sign_in(c, config, engine)
        token = c.get("/today").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        post = lambda **form: c.post("/cases", data={"csrf": token, **form})  # noqa: E731
        filtered = dict(status="open", stage="1", agency="Agency 03", sort="due")
        return [
            ("floor: the sign-in page (layout, no query)", times(lambda: anonymous.get("/sign-in")), None),
            ("Today", times(lambda: c.get("/today")), 0.2),
            ("Cases: open, stage 1, one agency, by due time", times(lambda: post(**filtered)), 0.2),
            ("Cases: every case, by due time, page 100 (no aim)", times(lambda: post(status="", page="100")), None),
            ("search: a case reference", times(lambda: post(search=sample.ref, status="")), 0.3),
            ("search: a client reference", times(lambda: post(search=sample.client_reference, status="")), 0.3),
            ("search: a person's name", times(lambda: post(search=person, status="")), 0.3),
        ]


def report(n: int, url: str, engine, filled: float, results, command: str) -> None:
    print(f"command: {shlex.join(sys.orig_argv)}")
    print(f"server: escalations {command} (uvicorn, one process); client: httpx, keep-alive, {REPEAT} requests each")
    database = f"SQLite {sqlite3.sqlite_version}" if url.startswith("sqlite") else \
        f"PostgreSQL {'.'.join(map(str, engine.dialect.server_version_info))}"
    print(f"python {platform.python_version()} on {platform.machine()} ({os.cpu_count()} cores), {database}, "
          f"{n:,} cases, 2 parties each; filled in {filled:.1f} s")
    print(f"{'':<48} {'p50':>8} {'p95':>8}  aim")
    for label, secs, aim in results:
        p50, p95 = percentile(secs, 50) * 1000, percentile(secs, 95) * 1000
        verdict = "" if aim is None else f"p95 < {aim * 1000:.0f} ms: {'met' if p95 < aim * 1000 else 'NOT met'}"
        print(f"{label:<48} {p50:6.1f}ms {p95:6.1f}ms  {verdict}")


if __name__ == "__main__":
    digest_bench_main(sys.argv, measure=run)  # [N] [--postgres], as bench_digest.py
