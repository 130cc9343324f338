"""config.toml, loaded once into frozen objects (tracker.config.values) and validated at start-up.

Every key is documented in the repository's config.toml. Relative paths of state (the
database, the heartbeat, local Maildirs) are read relative to the state directory
(tracker.config.state), other relative paths relative to the config file's folder. Secrets never come from the file: the file
names the environment variable (or a secrets file) that holds them.
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from tracker.config.partnership import partnership
from tracker.config.readers import choice, file_path, number, only_known, table, text
from tracker.config.state import state_dir
from tracker.config.values import Config, DaemonConfig
from tracker.errors import ConfigError

SECTIONS = {"partnership", "policy", "calendar", "database", "inbox", "outgoing", "templates", "digest", "logging",
            "directory", "board", "security", "daemon", "retention", "desk", "state"}


def read_toml(path: Path) -> dict[str, Any]:
    """The parsed file, or a ConfigError a person can act on."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("(file)", f"no config file at {path}; copy config.toml from the project, or name "
                          "one with --config", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("(file)", f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}",
                          file=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("(file)", f"not valid TOML: {exc}", file=str(path)) from None


def load_config(path: str | os.PathLike) -> Config:
    """Read and validate `path`; raises ConfigError naming the key on any bad value."""
    path = Path(path)
    data = read_toml(path)
    try:
        return config_from_dict(data, base=path.resolve().parent, path=path)
    except ConfigError as exc:
        raise exc.in_file(path) from None


def config_from_dict(data: Mapping[str, Any], base: Path, path: Path | None = None) -> Config:
    """The Config of a parsed file; relative paths are read from `base`, those of state from
    the state directory."""
    only_known(data, "", SECTIONS)
    state = state_dir(table(data, "state"), base)
    url = _database_url(table(data, "database"), state)
    level = choice(table(data, "logging"), "logging.level", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
    daemon = table(data, "daemon")
    only_known(daemon, "daemon.", {"heartbeat_file", "sweep_seconds"})
    return Config(
        path=path or base / "config.toml",
        database_url=url,
        partnership=partnership(data, base, state),
        daemon=DaemonConfig(heartbeat_file=file_path(daemon, "daemon.heartbeat_file", state, _heartbeat(data)),
                            sweep_seconds=number(daemon, "daemon.sweep_seconds", 60.0, 1.0, 3600.0)),
        log_level=level,
        desk=MappingProxyType(dict(table(data, "desk"))),
        state_dir=state,
    )


def _heartbeat(data: Mapping[str, Any]) -> str:
    """The default heartbeat file, one per partnership: several may share a state directory."""
    pid = table(data, "partnership").get("id", "example")
    return f"heartbeat-{pid}.json" if isinstance(pid, str) else "heartbeat.json"


def _database_url(db: Mapping[str, Any], state: Path) -> str:
    """From the environment variable [database] url_env names, else [database] url."""
    env = text(db, "database.url_env", "ESCALATIONS_DATABASE_URL") or ""
    return _resolve_sqlite(os.environ.get(env, "") or text(db, "database.url", "sqlite:///escalations.db"), state)


def _resolve_sqlite(url: str, base: Path) -> str:
    """A relative SQLite file is read relative to the state directory (`base`)."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite://":
        return prefix + str(base / url[len(prefix):])
    return url
