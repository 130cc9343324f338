"""`escalations run --once`: one pass of everything the daemon's schedule does, for a cron job
or a systemd timer, and for rehearsing a timetable with `--now` (CONTRACT.md §3).

By the service's time (App.now) it does what the daemon would have done by then, each
exactly once however often it runs: records what waits in the inbox, sweeps the deadlines
(reminders, stages that ran out), queues the weekly digest if one is due and not yet sent,
applies retention, and sends what is due. It takes the same mailbox lease the daemon takes
(on the real clock, renewed while it works), so it never acts beside a running daemon or
another `run --once`. A server that cannot be reached does not stop the rest: the pass goes
on and the command then fails with one line naming the server.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field

from tracker.daemon.app import App, open_inbox
from tracker.daemon.watcher import MailboxLease
from tracker.errors import CommandFailed
from tracker.storage import lease

log = logging.getLogger(__name__)


@dataclass
class Pass:
    handled: int = 0
    sent: int = 0
    touched: int = 0
    digest: str | None = None
    purged: int = 0
    failures: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        parts = [f"handled {self.handled} message(s)", f"{self.touched} case(s) moved by time",
                 f"digest {'for ' + self.digest + ' queued' if self.digest else 'not due'}",
                 f"{self.purged} case(s) purged", f"sent {self.sent} mail(s)"]
        return ", ".join(parts)


def run_once(app: App) -> Pass:
    """One pass; raises CommandFailed (after doing what it could) if a server was away."""
    held = MailboxLease(app, threading.Event(), on_taken=lambda: None)
    if not held.hold():
        holder = lease.holder(app.engine, held.name) or "another instance"
        raise CommandFailed(f"the mailbox of {app.partnership.id} is held by {holder} (a daemon or another "
                            "`run --once` is serving it); nothing done. Run it again when that one has finished")
    done = Pass()
    try:
        done.handled = _inbox(app, held, done)
        _keep(held, done)
        done.touched = len(app.sweep())
        _keep(held, done)
        done.digest = app.digest_catch_up()
        _keep(held, done)
        done.purged = len(app.purge())
        _keep(held, done)
        try:
            done.sent = asyncio.run(app.send_all())
        except Exception as exc:  # noqa: BLE001 - the outbox keeps every row for the next pass
            done.failures.append(unreachable("outgoing", app.partnership.outgoing, exc))
    finally:
        held.release()
    if done.failures:
        raise CommandFailed(f"{done}; but " + "; ".join(done.failures))
    return done


def _keep(held: MailboxLease, done: Pass) -> None:
    """Renew the lease between steps (it lasts 15 s); a pass that lost it stops where it is."""
    if held.renewal_due() and not held.hold():
        raise CommandFailed(f"{done}; then the mailbox lease went to another instance, which does the rest")


def _inbox(app: App, held: MailboxLease, done: Pass) -> int:
    def should_stop() -> bool:  # between messages: keep the lease, or stop if it was lost
        return held.renewal_due() and not held.hold()

    cfg = app.partnership.inbox
    try:
        inbox = open_inbox(cfg, app.clock)
    except Exception as exc:  # noqa: BLE001 - the rest of the pass does not need the inbox
        done.failures.append(unreachable("inbox", cfg, exc))
        return 0
    try:
        return app.ingest(inbox, should_stop=should_stop)
    except Exception as exc:  # noqa: BLE001 - what was recorded stays recorded
        done.failures.append(unreachable("inbox", cfg, exc))
        return 0
    finally:
        try:
            inbox.close()
        except Exception:  # noqa: BLE001 - a connection already gone has nothing to close
            pass


def unreachable(name: str, cfg, exc: BaseException) -> str:
    """One clause: which server, what went wrong, where to look."""
    where = str(cfg.path) if cfg.kind == "maildir" else f"{cfg.kind} {cfg.security} {cfg.host}:{cfg.port}"
    reason = str(exc).splitlines()[0] if str(exc) else "no reason given"
    log.warning("%s %s failed: %s", name, where, type(exc).__name__)
    return (f"the {name} ({where}) failed: {type(exc).__name__}: {reason[:300]}; "
            f"`escalations check` tests it, and what was not done waits for the next run")
