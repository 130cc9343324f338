"""Run the daemons of every partnership in one process, and stop them all on SIGTERM."""
from __future__ import annotations

import signal
import threading

from tracker.daemon.daemon import Daemon


def run_all(apps: list) -> None:
    """One Daemon per partnership, each with its own mailbox watcher, scheduler and sender
    process."""
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
