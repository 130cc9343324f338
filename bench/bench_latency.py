"""Benchmark: one intake at a time, from the SMTP server accepting it to the confirmation
sitting in the worker's mailbox, through real Postfix and Dovecot on loopback.

Usage: python bench/bench_latency.py [N]     (N intakes, default 200)

The floor, measured in the same run (every 5th intake, on a mailbox the daemon does not
watch): how long Dovecot's IDLE takes to announce a message after Postfix accepted it
(Dovecot 2.3 waits a fixed 500 ms), plus one SMTP submission until the mail is in the
recipient's Maildir. The aim: p50 <= 1 s, p99 <= 2 s, p50 within 0.3 s of the floor.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.figures import command_line, percentile  # noqa: E402
from testbed.counting import db_scalar  # noqa: E402
from testbed.intakes import INTAKE, OTHER, WORKER, intake_mail  # noqa: E402
from testbed.service import DaemonProcess, mail_stack, upgrade_db, write_config  # noqa: E402
from testbed.wait import wait_until  # noqa: E402

FLOOR_USER = "floor@council.example.test"


def new_files(stack, user: str) -> int:
    new = stack.maildir(user) / "new"
    return len(list(new.iterdir())) if new.is_dir() else 0


def wait_for_file(stack, user: str, before: int, timeout: float = 30) -> float:
    """When a new file is in *user*'s Maildir (polled every millisecond: it is what is timed)."""
    if not wait_until(lambda: new_files(stack, user) > before, timeout, interval=0.001):
        raise TimeoutError(f"no new mail for {user} within {timeout} s")
    return time.monotonic()


def floor_sample(stack, smtp, idler) -> tuple[float, float]:
    """(IDLE announcement after Postfix's 250, SMTP submission until in the Maildir)."""
    before = new_files(stack, FLOOR_USER)
    raw = intake_mail(0)[0]
    idler.idle()
    try:
        t0 = time.monotonic()
        smtp.sendmail(WORKER, [FLOOR_USER], raw)
        t_accepted = time.monotonic()
        t_file = wait_for_file(stack, FLOOR_USER, before)
        while True:
            responses = idler.idle_check(timeout=5)
            if any(len(r) > 1 and r[1] == b"EXISTS" for r in responses):
                t_idle = time.monotonic()
                break
            if not responses:
                raise TimeoutError("IDLE announced nothing within 5 s")
    finally:
        idler.idle_done()
    return t_idle - t_accepted, t_file - t0


def main(n: int) -> None:
    print(f"$ {command_line()}")
    with mail_stack() as stack, tempfile.TemporaryDirectory() as tmp:
        config = write_config(stack, Path(tmp))
        upgrade_db(stack, config)
        db = Path(tmp) / "cases.db"
        daemon = DaemonProcess(stack, config).start()
        try:
            assert wait_until(lambda: db_scalar(db, "SELECT count(*) FROM lease") == 1, 60), daemon.log_tail()
            assert wait_until(lambda: stack.idle_sessions(INTAKE) > 0, 60), daemon.log_tail()  # settled into IDLE
            smtp = stack.smtp(WORKER)
            idler = stack.imap(FLOOR_USER)
            idler.select_folder("INBOX")
            latencies, idle_floor, delivery_floor = [], [], []
            for i in range(1, n + 1):
                before, notices = new_files(stack, WORKER), new_files(stack, OTHER)
                smtp.sendmail(WORKER, [INTAKE], intake_mail(i)[0])
                accepted = time.monotonic()
                latencies.append(wait_for_file(stack, WORKER, before) - accepted)
                if i % 5 == 0:
                    a, b = floor_sample(stack, smtp, idler)
                    idle_floor.append(a)
                    delivery_floor.append(b)
                # the notice has landed too and the daemon is back in IDLE: the next intake starts from quiet
                assert wait_until(lambda: new_files(stack, OTHER) > notices and stack.idle_sessions(INTAKE) > 0, 60)
            smtp.quit()
            idler.logout()
        finally:
            daemon.stop()
    floor = statistics.median(idle_floor) + statistics.median(delivery_floor)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    print(f"intakes: {n}, one at a time (SMTP 250 of the intake -> confirmation in {WORKER}'s Maildir)")
    print(f"latency: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
    print(f"floor:   {floor * 1000:.0f} ms = IDLE announcement p50 {statistics.median(idle_floor) * 1000:.0f} ms "
          f"(p99 {percentile(idle_floor, 99) * 1000:.0f}) + one SMTP delivery p50 "
          f"{statistics.median(delivery_floor) * 1000:.0f} ms (p99 {percentile(delivery_floor, 99) * 1000:.0f}), "
          f"{len(idle_floor)} samples")
    print(f"p50 - floor: {(p50 - floor) * 1000:+.0f} ms (aim: <= +300 ms); "
          f"aims p50 <= 1000 ms: {'met' if p50 <= 1 else 'NOT met'}, p99 <= 2000 ms: {'met' if p99 <= 2 else 'NOT met'}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
