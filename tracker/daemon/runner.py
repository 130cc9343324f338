"""Run the daemons of every partnership in one process, and stop them all on SIGTERM."""
from __future__ import annotations

import signal
import threading

from tracker.config.state import writable
from tracker.daemon.daemon import Daemon
from tracker.errors import ConfigError


def run_all(apps: list) -> None:
    """One Daemon per partnership, each with its own mailbox watcher, scheduler and sender
    process."""
    for app in apps:
        check_state(app.config)
    daemons = [Daemon(app, sender_process=True) for app in apps]
    if len(daemons) == 1:
        daemons[0].run()  # in the main thread: it installs its own signal handlers
        return

    def stop_all(*_args) -> None:
        for d in daemons:
            d.stop()

    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    threads = [threading.Thread(target=d.run, name=f"partnership-{a.partnership.id}")
               for d, a in zip(daemons, apps)]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.5)  # short joins keep the main thread responsive to signals


def check_state(config) -> None:
    """Refuse to start, in one line, a daemon that could not write its heartbeat: it would
    work unseen, and `escalations status` would call it dead. (An SQLite file that cannot
    be opened is refused as the database is opened: tracker.storage.db.)"""
    folders = [config.state_dir, config.daemon.heartbeat_file.parent]
    for folder in dict.fromkeys(f for f in folders if f is not None):
        problem = writable(folder)
        if problem:
            raise ConfigError("state.dir", f"cannot write to {problem}; the service keeps its database, "
                              "heartbeat and local mail folders in its state directory: set [state] dir, "
                              "$ESCALATIONS_STATE_DIR or systemd's StateDirectory= to a folder it may write")
