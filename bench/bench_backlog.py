"""Benchmark: N intakes already waiting in the mailbox when the daemon starts.

Usage: python bench/bench_backlog.py [N] [--postgres]   (N intakes, default 10000; the
database is SQLite unless --postgres starts a private PostgreSQL on loopback)

Reports, as intakes per second:
* ingest: daemon start -> every case committed and every intake moved to Processed
  (the outbox may still be draining); the aim is 500/s on a 2-core machine;
* end to end: daemon start -> every case exists and every confirmation and notice is in
  its recipient's Maildir; the aim is at least 50 % of the floor;
* the floor, measured in the same run: the slower of (a) IMAP FETCH of the same mail plus
  Python's own parse of it (email.policy.default), and (b) Postfix accepting (one
  connection, STARTTLS + AUTH, aiosmtplib) and delivering as many mails as the service
  sends (two per intake), expressed in intakes per second.
"""
from __future__ import annotations

import asyncio
import email
import email.policy
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiosmtplib  # noqa: E402

from bench.figures import command_line  # noqa: E402
from testbed.counting import cases, count, db_scalar  # noqa: E402
from testbed.intakes import INTAKE, OTHER, WORKER, append_intakes  # noqa: E402
from testbed.service import DaemonProcess, mail_stack, upgrade_db, write_config  # noqa: E402
from testbed.wait import wait_until  # noqa: E402

FLOOR_USER = "floor@council.example.test"


def fetch_and_parse(stack) -> float:
    """Floor (a): seconds to FETCH every waiting intake over IMAPS and parse it."""
    client = stack.imap(INTAKE)
    try:
        t0 = time.monotonic()
        client.select_folder("INBOX", readonly=True)
        uids = sorted(client.search(["NOT", "DELETED"]))
        for i in range(0, len(uids), 500):
            batch = uids[i:i + 500]
            for data in client.fetch(batch, ["BODY.PEEK[]"]).values():
                email.message_from_bytes(data[b"BODY[]"], policy=email.policy.default)
        return time.monotonic() - t0
    finally:
        client.logout()


async def _submit(stack, mails: int, raw: bytes) -> None:
    smtp = aiosmtplib.SMTP(hostname=stack.host, port=stack.smtp_port, tls_context=stack.ssl_context(),
                           start_tls=True)
    await smtp.connect()
    await smtp.login(INTAKE, stack.password)
    for _ in range(mails):
        await smtp.sendmail(INTAKE, [FLOOR_USER], raw)
    await smtp.quit()


def submit_and_deliver(stack, mails: int, raw: bytes) -> float:
    """Floor (b): seconds for Postfix to accept and deliver `mails` mails of this size."""
    before = count(stack, FLOOR_USER)
    t0 = time.monotonic()
    asyncio.run(_submit(stack, mails, raw))
    assert wait_until(lambda: count(stack, FLOOR_USER) >= before + mails, 3600, interval=0.25)
    return time.monotonic() - t0


def sample_outgoing(n: int) -> bytes:
    """A mail the size of the service's confirmation (text + HTML alternative)."""
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = INTAKE, FLOOR_USER, "[ESC-2026-0001] Escalation received"
    msg.set_content("Your escalation is recorded.\n" * 60)
    msg.add_alternative("<p>Your escalation is recorded.</p>\n" * 60, subtype="html")
    return msg.as_bytes()


def main(argv: list[str]) -> None:
    postgres = "--postgres" in argv
    argv = [a for a in argv if a != "--postgres"]
    n = int(argv[1]) if len(argv) > 1 else 10_000
    if not postgres:
        return run(n, None)
    from testbed.dirs import server_dir
    from testbed.postgres import Postgres

    with Postgres(server_dir("bench-postgres-")) as server:
        run(n, server.new_database("backlog"))


def run(n: int, database_url: str | None) -> None:
    print(f"$ {command_line()}")
    with mail_stack() as stack, tempfile.TemporaryDirectory() as tmp:
        config = write_config(stack, Path(tmp), database_url=database_url)
        upgrade_db(stack, config)
        db = database_url or Path(tmp) / "cases.db"
        t0 = time.monotonic()
        append_intakes(stack, range(n), seed=1)
        print(f"queued {n} intakes by MULTIAPPEND in {time.monotonic() - t0:.1f} s")
        fetch_s = fetch_and_parse(stack)
        deliver_s = submit_and_deliver(stack, 2 * n, sample_outgoing(n))
        floor_a, floor_b = n / fetch_s, n / deliver_s
        floor = min(floor_a, floor_b)

        daemon = DaemonProcess(stack, config)
        t0 = time.monotonic()
        daemon.start()
        ingested = lambda: cases(db) == n and count(stack, INTAKE, "Processed") == n  # noqa: E731
        assert wait_until(ingested, 7200, interval=0.2), daemon.log_tail()
        t_ingest = time.monotonic() - t0
        delivered = lambda: count(stack, WORKER) >= n and count(stack, OTHER) >= n  # noqa: E731
        assert wait_until(delivered, 7200, interval=0.25), daemon.log_tail()
        t_done = time.monotonic() - t0
        daemon.stop()
        pending = db_scalar(db, "SELECT count(*) FROM outboxmail WHERE status != 'sent'")
    print(f"intakes: {n} waiting when the daemon started (its start-up, ~1 s, included); "
          f"database: {'PostgreSQL' if database_url else 'SQLite'}")
    print(f"ingest (case committed + moved to Processed): {t_ingest:.1f} s = {n / t_ingest:.0f} intakes/s "
          f"(aim 500/s)")
    print(f"end to end (every confirmation and notice delivered): {t_done:.1f} s = {n / t_done:.0f} intakes/s "
          f"= {n / t_done / floor:.0%} of the floor (aim >= 50 %); outbox rows not sent: {pending}")
    print(f"floor: {floor:.0f} intakes/s = slower of (a) IMAP FETCH + parse {floor_a:.0f}/s "
          f"({fetch_s:.1f} s) and (b) Postfix accepting + delivering {2 * n} mails {floor_b:.0f} intakes/s "
          f"({2 * n / deliver_s:.0f} mails/s, {deliver_s:.1f} s)")


if __name__ == "__main__":
    main(sys.argv)
