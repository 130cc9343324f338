"""Benchmark: what the daemon costs while it holds IDLE and nothing arrives.

Usage: python bench/bench_idle.py [SECONDS]     (default 300)

Starts the daemon against a private Dovecot + Postfix, waits until it holds the mailbox
and has settled, then samples the resident memory (VmRSS) and CPU time (utime + stime from
/proc) of the daemon and its processes (the sender) once a second for SECONDS. The floor is zero: a process blocked in IDLE need not
wake at all; the daemon wakes each second to look for a stop request, renews its lease
every 5 s, writes its heartbeat every 15 s and runs the deadline sweep every minute; the
sender looks at the outbox every 5 s.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.figures import command_line  # noqa: E402
from testbed.counting import db_scalar  # noqa: E402
from testbed.intakes import INTAKE  # noqa: E402
from testbed.service import DaemonProcess, mail_stack, upgrade_db, write_config  # noqa: E402
from testbed.wait import wait_until  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rfind(")") + 2:].split()


def tree(pid: int) -> list[int]:
    """The daemon and every process under it (its sender, multiprocessing's resource tracker)."""
    parents = {}
    for p in Path("/proc").glob("[0-9]*"):
        try:
            parents[int(p.name)] = int(_stat(int(p.name))[1])
        except (OSError, ValueError):
            continue
    out, todo = [], [pid]
    while todo:
        out.append(todo.pop())
        todo += [child for child, parent in parents.items() if parent == out[-1]]
    return out


def cpu_seconds(pid: int) -> float:
    """utime + stime of the daemon and its processes (those alive now)."""
    total = 0.0
    for p in tree(pid):
        try:
            fields = _stat(p)
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


def rss_mib(pid: int) -> float:
    """Resident memory of the daemon and its processes (shared pages counted in each)."""
    total = 0.0
    for p in tree(pid):
        try:
            lines = Path(f"/proc/{p}/status").read_text().splitlines()
        except OSError:
            continue
        total += sum(int(line.split()[1]) for line in lines if line.startswith("VmRSS:")) / 1024
    return total


def main(seconds: float) -> None:
    print(f"$ {command_line()}")
    with mail_stack() as stack, tempfile.TemporaryDirectory() as tmp:
        config = write_config(stack, Path(tmp))
        upgrade_db(stack, config)
        daemon = DaemonProcess(stack, config).start()
        try:
            db = Path(tmp) / "cases.db"
            assert wait_until(lambda: db_scalar(db, "SELECT count(*) FROM lease") == 1, 60), daemon.log_tail()
            assert wait_until(lambda: stack.idle_sessions(INTAKE) > 0, 60), daemon.log_tail()
            # Start-up work (the first sweep, heartbeat and digest catch-up, run by the scheduler
            # beside the watcher) is not idling, and nothing says when all of it is over: a
            # settling margin is left out of the measurement, on purpose.
            time.sleep(5)
            rss, cpu0, t0 = [], cpu_seconds(daemon.pid), time.monotonic()
            while time.monotonic() - t0 < seconds:
                rss.append(rss_mib(daemon.pid))
                time.sleep(1)  # the sampling period: measuring over time is the point
            cpu, wall = cpu_seconds(daemon.pid) - cpu0, time.monotonic() - t0
            assert daemon.running(), daemon.log_tail()
        finally:
            daemon.stop()
    print(f"idle for {wall:.0f} s holding IMAP IDLE, nothing arriving ({len(rss)} samples)")
    print(f"resident memory: start {rss[0]:.1f} MiB, end {rss[-1]:.1f} MiB, max {max(rss):.1f} MiB")
    print(f"CPU: {cpu:.2f} s over {wall:.0f} s = {cpu / wall:.2%} of one core "
          f"({cpu / wall * 60 * 1000:.0f} ms per minute); floor 0")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 300)
