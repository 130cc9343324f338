"""The one change a mail stack makes outside its directory: its entry in
``alternate_config_directories`` of the system's /etc/postfix/main.cf, without which
``postfix -c DIR`` refuses a private configuration directory.

Several test runs may share the machine (one per worktree), so every edit holds an
exclusive lock on a file in the temp directory; entries whose directory is gone (runs that
were killed and never unregistered) are dropped on the way.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from testbed.mailstack.requirements import POSTCONF

POSTFIX_DEFAULT_MAIN_CF = Path("/etc/postfix/main.cf")
# Serialises edits of /etc/postfix/main.cf between parallel test runs on one machine.
_MAIN_CF_LOCK = Path(tempfile.gettempdir()) / "escalations-postfix-main-cf.lock"


def register(config_dir: Path) -> None:
    """List *config_dir* in alternate_config_directories (once)."""
    mine = str(config_dir)
    with _main_cf_lock():
        if not POSTFIX_DEFAULT_MAIN_CF.exists():
            POSTFIX_DEFAULT_MAIN_CF.touch()
        current = _alternate_dirs()
        # Drop entries of earlier runs whose directory is gone (killed runs never unregister).
        kept = [d for d in current if Path(d).is_dir()]
        if mine not in kept:
            kept.append(mine)
        if kept != current:
            _set_alternate_dirs(kept)
            _backdate_main_cf()


def unregister(config_dir: Path) -> None:
    """Remove *config_dir* from alternate_config_directories, if it is there."""
    if not POSTFIX_DEFAULT_MAIN_CF.exists():
        return
    mine = str(config_dir)
    with _main_cf_lock():
        current = _alternate_dirs()
        if mine in current:
            _set_alternate_dirs([d for d in current if d != mine])
            _backdate_main_cf()


@contextlib.contextmanager
def _main_cf_lock() -> Iterator[None]:
    with open(_MAIN_CF_LOCK, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _split_list(value: str) -> list[str]:
    return [v for v in value.replace(",", " ").split() if v]


def _alternate_dirs() -> list[str]:
    out = subprocess.run(
        [POSTCONF, "-c", "/etc/postfix", "-h", "alternate_config_directories"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False,
    ).stdout
    return _split_list(out)


def _set_alternate_dirs(dirs: list[str]) -> None:
    subprocess.run(
        [POSTCONF, "-c", "/etc/postfix", "-e", f"alternate_config_directories = {', '.join(dirs)}"],
        stdin=subprocess.DEVNULL, capture_output=True, check=True,
    )


def _backdate_main_cf() -> None:
    # Every postfix command reads /etc/postfix/main.cf and pauses up to 1.5 s while it is
    # less than a second old ("let it cool down"). We hold the lock and just wrote it.
    st = POSTFIX_DEFAULT_MAIN_CF.stat()
    when = min(st.st_mtime, time.time() - 2)
    os.utime(POSTFIX_DEFAULT_MAIN_CF, (st.st_atime, when))
