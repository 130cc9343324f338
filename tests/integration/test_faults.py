"""Faults through real Dovecot and Postfix, with the real daemon as a child process.

* kill -9 at random moments while intakes are ingested and mail is sent, restart, repeat:
  every intake becomes exactly one case, lands in Processed once, and every confirmation and
  notice reaches its mailbox (counted by Message-ID);
* Postfix stopped while intakes arrive: cases open, mail waits with retries, and arrives
  exactly once when Postfix is back;
* Dovecot restarted while the daemon holds IDLE: it reconnects and misses nothing.

Sizes come from the environment; the default is the issue's full size (500 intakes, 50
kills: about 85 s on a 2-core machine). A longer soak, or one seed again (it is printed):

    ESCALATIONS_CRASH_INTAKES=2000 ESCALATIONS_CRASH_KILLS=200 ESCALATIONS_CRASH_SEED=1 \\
        python -m pytest -q -s tests/integration/test_faults.py -k crash

No assertion is on a duration: every wait is for a condition, with a generous timeout.
"""
from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from parser.worker import PROCESS_NAME
from testbed.counting import cases, count, db_scalar, message_ids
from testbed.intakes import INTAKE, OTHER, WORKER, append_intakes, intake_mail
from testbed.service import DaemonProcess, upgrade_db, write_config
from testbed.wait import wait_until

CRASH_INTAKES = int(os.environ.get("ESCALATIONS_CRASH_INTAKES", "500"))
CRASH_KILLS = int(os.environ.get("ESCALATIONS_CRASH_KILLS", "50"))
WAIT = 300  # seconds: a generous ceiling for any one condition; a healthy run needs a fraction


@pytest.fixture
def service(mailstack, tmp_path):
    """A config for a daemon on the shared stack, its own SQLite database; a clean stack."""
    mailstack.clear()
    config = write_config(mailstack, tmp_path, log_level="INFO")
    upgrade_db(mailstack, config)
    daemons: list[DaemonProcess] = []

    def start() -> DaemonProcess:
        daemons.append(DaemonProcess(mailstack, config).start())
        return daemons[-1]

    yield config, start
    for d in daemons:
        d.kill()


def outbox(db, status: str) -> int:
    return db_scalar(db, "SELECT count(*) FROM outboxmail WHERE status = ?", status)


def expected_ids(db, kind: str) -> set[str]:
    import sqlite3

    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return {f"<{m}>" for (m,) in conn.execute("SELECT message_id FROM outboxmail WHERE kind = ?", (kind,))}


def all_delivered(stack, db, n: int) -> bool:
    return (cases(db) == n and count(stack, INTAKE, "Processed") == n and count(stack, WORKER) >= n
            and count(stack, OTHER) >= n and outbox(db, "pending") + outbox(db, "sending") == 0)


def settled(stack) -> bool:
    """Postfix holds nothing more: every mail it accepted (a resend included) is in its Maildir.
    Asked once every row is marked sent, after which nothing more is handed to Postfix."""
    return stack.queue_size() == 0


def assert_exactly_once(stack, db, n: int, duplicates_allowed: int = 0) -> dict[str, int]:
    """n cases, n in Processed and nothing elsewhere, each expected mail present (by
    Message-ID); returns the duplicates per mailbox (each must be a resend of one mail)."""
    assert cases(db) == n
    assert db_scalar(db, "SELECT count(DISTINCT client_reference) FROM \"case\"") == n
    assert db_scalar(db, "SELECT count(*) FROM inboundmessage") == n
    assert count(stack, INTAKE, "Processed") == n
    assert count(stack, INTAKE) == 0 and count(stack, INTAKE, "Quarantine") == 0
    assert db_scalar(db, "SELECT count(*) FROM outboxmail WHERE status = 'sent' AND kind IN "
                         "('confirmation', 'notice')") == 2 * n, "every confirmation and notice marked sent"
    assert outbox(db, "failed") == 0
    duplicates = {}
    for user, kind in ((WORKER, "confirmation"), (OTHER, "notice")):
        seen = Counter(message_ids(stack, user))
        assert set(seen) == expected_ids(db, kind) and len(seen) == n, f"{user}: some {kind} missing or foreign"
        duplicates[user] = sum(c - 1 for c in seen.values())
    assert sum(duplicates.values()) <= duplicates_allowed, duplicates
    return duplicates


def test_crash_at_random_points_every_intake_handled_once(mailstack, service, tmp_path):
    config, start = service
    db = tmp_path / "cases.db"
    seed = int(os.environ.get("ESCALATIONS_CRASH_SEED", random.randrange(1_000_000)))
    rng = random.Random(seed)
    print(f"\ncrash test: {CRASH_INTAKES} intakes, {CRASH_KILLS} kills, ESCALATIONS_CRASH_SEED={seed}")
    waves = [range(CRASH_INTAKES * k // (CRASH_KILLS + 1), CRASH_INTAKES * (k + 1) // (CRASH_KILLS + 1))
             for k in range(CRASH_KILLS + 1)]
    kills_mid_send, moments = 0, Counter()
    t0 = time.monotonic()
    for k in range(CRASH_KILLS):
        append_intakes(mailstack, waves[k], seed=seed + k)
        daemon = start()
        moments[_wait_for_a_moment(rng, daemon, db, mailstack)] += 1
        daemon.kill()
        if outbox(db, "sending"):  # killed mid-drain: the one window for a resend is here
            kills_mid_send += 1
    append_intakes(mailstack, waves[-1], seed=seed + CRASH_KILLS)
    daemon = start()
    assert wait_until(lambda: all_delivered(mailstack, db, CRASH_INTAKES), WAIT), daemon.log_tail()
    wait_until(lambda: settled(mailstack), 60)  # anything sent twice has landed too
    assert daemon.stop() == 0, daemon.log_tail()
    duplicates = assert_exactly_once(mailstack, db, CRASH_INTAKES, duplicates_allowed=kills_mid_send)
    print(f"kills by moment: {dict(moments)}; killed mid-drain {kills_mid_send} time(s); "
          f"resent with the same Message-ID: {duplicates}; {time.monotonic() - t0:.0f} s")


def _wait_for_a_moment(rng: random.Random, daemon: DaemonProcess, db, stack) -> str:
    """Let the daemon run until a random moment: any time after start, just after it
    committed a case, or just after it marked a mail sent."""
    moment = rng.choice(("any", "ingest", "send"))
    if moment == "any":
        time.sleep(rng.uniform(0.2, 2.5))  # a random instant is the point: no condition to wait for
        return moment
    if moment == "ingest":
        before = cases(db)
        progressed = lambda: cases(db) > before  # noqa: E731
        jitter = rng.uniform(0, 0.15)
    else:
        before = outbox(db, "sent")
        progressed = lambda: outbox(db, "sent") > before  # noqa: E731
        jitter = rng.uniform(0, 0.03)
    if not wait_until(progressed, 20, interval=0.005):
        return f"{moment} (nothing to do)"
    time.sleep(jitter)  # a random instant just after it is the point: nothing to poll
    return moment


def test_postfix_down_mail_waits_and_arrives_once(mailstack, service, tmp_path):
    config, start = service
    db = tmp_path / "cases.db"
    n = 20
    daemon = start()
    assert wait_until(lambda: db_scalar(db, "SELECT count(*) FROM lease") == 1, WAIT), daemon.log_tail()
    mailstack.stop_postfix()
    try:
        append_intakes(mailstack, range(n), seed=7)
        assert wait_until(lambda: cases(db) == n and count(mailstack, INTAKE, "Processed") == n, WAIT), \
            daemon.log_tail()
        # the sender met the outage: temporary failures recorded, nothing lost, nothing sent
        assert wait_until(lambda: db_scalar(db, "SELECT count(*) FROM outboxmail WHERE attempts > 0") > 0, WAIT)
        assert outbox(db, "sent") == 0 and outbox(db, "failed") == 0
        # another round of retries against the dead server (the first was awaited above)
        wait_until(lambda: db_scalar(db, "SELECT max(attempts) FROM outboxmail") >= 2, WAIT)
    finally:
        mailstack.start_postfix()
    assert wait_until(lambda: all_delivered(mailstack, db, n), WAIT), daemon.log_tail()
    wait_until(lambda: settled(mailstack), 60)
    assert daemon.stop() == 0, daemon.log_tail()
    assert assert_exactly_once(mailstack, db, n) == {WORKER: 0, OTHER: 0}


def test_dovecot_restart_mid_idle_reconnects_and_misses_nothing(mailstack, service, tmp_path):
    config, start = service
    db = tmp_path / "cases.db"
    daemon = start()
    append_intakes(mailstack, range(0, 5), seed=11)
    assert wait_until(lambda: all_delivered(mailstack, db, 5), WAIT), daemon.log_tail()
    wait_until(lambda: mailstack.idle_sessions(INTAKE) > 0, WAIT)  # back in IDLE
    mailstack.restart_dovecot()
    append_intakes(mailstack, range(5, 10), seed=12)  # straight into the mailbox
    for i in range(10, 15):  # and through Postfix, as workers send them
        mailstack.send(intake_mail(i)[0], WORKER, [INTAKE])
    assert wait_until(lambda: all_delivered(mailstack, db, 15), WAIT), daemon.log_tail()
    wait_until(lambda: settled(mailstack), 60)
    assert daemon.stop() == 0, daemon.log_tail()
    assert assert_exactly_once(mailstack, db, 15) == {WORKER: 0, OTHER: 0}
    assert "mailbox connection lost" in daemon.log_path.read_text()


def _children(pid: int, parsers: bool = False) -> list[int]:
    """The daemon's sender processes: children of `pid` started by multiprocessing's spawn
    (its resource tracker is a child too, and is left out, and so are its parse workers,
    named by parser.worker.PROCESS_NAME: those alone with `parsers`). From /proc: Linux, like the unit."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            spawned = b"spawn_main" in (stat.parent / "cmdline").read_bytes()
            parser = (stat.parent / "comm").read_bytes().strip() == PROCESS_NAME
        except OSError:
            continue
        if int(text[text.rfind(")") + 2:].split()[1]) == pid and spawned and parser == parsers:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rfind(")") + 2] not in "ZX"


def test_the_sender_process_is_restarted_if_it_dies_and_dies_with_the_daemon(mailstack, service, tmp_path):
    """The sender runs in a process of its own: killed, the daemon starts another and nothing
    is lost; the daemon killed -9, the sender goes with it (none left to send what the next
    daemon sends)."""
    config, start = service
    db = tmp_path / "cases.db"
    daemon = start()
    append_intakes(mailstack, range(0, 3), seed=21)
    assert wait_until(lambda: all_delivered(mailstack, db, 3), WAIT), daemon.log_tail()
    senders = _children(daemon.pid)
    assert len(senders) == 1, senders
    os.kill(senders[0], signal.SIGKILL)
    assert wait_until(lambda: [p for p in _children(daemon.pid) if p != senders[0] and _alive(p)], WAIT)
    append_intakes(mailstack, range(3, 6), seed=22)
    assert wait_until(lambda: all_delivered(mailstack, db, 6), WAIT), daemon.log_tail()
    assert "the sender process ended" in daemon.log_path.read_text()
    sender = [p for p in _children(daemon.pid) if _alive(p)][0]
    parsers = _children(daemon.pid, parsers=True)
    assert len(parsers) == 2, parsers  # the parse worker and its warm spare
    daemon.kill()
    assert wait_until(lambda: not _alive(sender), 30), "the sender outlived the daemon"
    assert wait_until(lambda: not any(_alive(p) for p in parsers), 30), "a parse worker outlived the daemon"
    restarted = start()
    holder = lambda: str(db_scalar(db, "SELECT holder FROM lease") or "")  # noqa: E731
    assert wait_until(lambda: f":{restarted.pid}:" in holder(), WAIT), restarted.log_tail()
    assert wait_until(lambda: all_delivered(mailstack, db, 6), WAIT), restarted.log_tail()
    wait_until(lambda: settled(mailstack), 60)
    assert restarted.stop() == 0, restarted.log_tail()
    assert assert_exactly_once(mailstack, db, 6) == {WORKER: 0, OTHER: 0}
    assert not [p for p in _children(restarted.pid) if _alive(p)], "the sender outlived a clean stop"


def test_mail_a_killed_sender_had_claimed_goes_out_at_once(mailstack, service, tmp_path):
    """A sender killed in the middle of a drain leaves its claimed mail marked as being sent;
    the daemon puts it back when it starts the next sender, so it does not wait out the
    claim timeout (ten minutes), and arrives once (a kill between a 250 and its mark may
    repeat that one mail)."""
    from tracker.outgoing.drain import CLAIM_TIMEOUT

    config, start = service
    db = tmp_path / "cases.db"
    daemon = start()
    append_intakes(mailstack, range(0, 40), seed=23)
    assert wait_until(lambda: count(mailstack, WORKER) >= 3, WAIT), daemon.log_tail()
    senders = _children(daemon.pid)
    os.kill(senders[0], signal.SIGKILL)
    t_kill = time.monotonic()
    assert outbox(db, "sending") > 0, "the kill came too late to test anything"
    assert wait_until(lambda: all_delivered(mailstack, db, 40), CLAIM_TIMEOUT.total_seconds() / 2), \
        daemon.log_tail()
    assert time.monotonic() - t_kill < CLAIM_TIMEOUT.total_seconds() / 2
    assert daemon.stop() == 0, daemon.log_tail()
    assert sum(assert_exactly_once(mailstack, db, 40, duplicates_allowed=1).values()) <= 1
