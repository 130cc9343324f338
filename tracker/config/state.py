"""Where the service keeps what it writes: the state directory.

The configuration folder may be read-only (/etc/escalations under the shipped systemd unit,
a read-only mount in a container), so nothing the service writes is put beside config.toml
unless config.toml says so. The state directory is, in order:

1. `[state] dir` in config.toml (relative: to the config file's folder);
2. `$ESCALATIONS_STATE_DIR` (the container image sets /var/lib/escalations);
3. `$STATE_DIRECTORY`, which systemd sets from the unit's `StateDirectory=` (the first one);
4. else `var/` beside config.toml: a trial from a checkout, as README.md shows it.

The paths of state (the SQLite database, the heartbeat file, a local Maildir inbox or sent
folder) are read relative to it; configuration (templates, CA and secrets files) stays
relative to the config file's folder.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from tracker.config.readers import only_known, text
from tracker.errors import ConfigError

ENV = "ESCALATIONS_STATE_DIR"
SYSTEMD_ENV = "STATE_DIRECTORY"
TRIAL = "var"


def state_dir(t: Mapping[str, Any], base: Path) -> Path:
    """The state directory for the [state] table `t` of a config file in `base`."""
    only_known(t, "state.", {"dir"})
    configured = text(t, "state.dir", None)
    if configured is not None:
        if not configured.strip():
            raise ConfigError("state.dir", "is empty; leave it out to use $ESCALATIONS_STATE_DIR, "
                              "$STATE_DIRECTORY or var/ beside the config file")
        p = Path(configured).expanduser()
        return p if p.is_absolute() else base / p
    for env in (ENV, SYSTEMD_ENV):
        value = os.environ.get(env, "").split(":")[0].strip()  # systemd joins several with ':'
        if value:
            return Path(value).expanduser().absolute()
    return base / TRIAL


def writable(state: Path) -> str | None:
    """None when the service can keep its state in `state` (made if missing), else why not."""
    try:
        state.mkdir(parents=True, exist_ok=True)
        probe = state / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return f"{state}: {exc.strerror or type(exc).__name__}"
    return None
