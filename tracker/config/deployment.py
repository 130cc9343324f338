"""One deployment, several partnerships.

A config file is either one partnership's config (the usual case), or a deployment file
whose only table is

    [deployment]
    partnerships = ["wolverhampton.toml", "wiltshire.toml"]

naming one config per partnership, each with its own mailbox, policy, directory,
templates and business support. They may share one database: every case, mail, lease and
digest is keyed by the partnership's id, so nothing crosses between them.
"""
from __future__ import annotations

from pathlib import Path

from tracker.config.load import load_config, read_toml
from tracker.config.values import Config
from tracker.errors import ConfigError


def load_deployment(path: str | Path) -> list[Config]:
    path = Path(path)
    data = read_toml(path)
    if "deployment" not in data:
        return [load_config(path)]
    extra = set(data) - {"deployment"}
    if extra:
        raise ConfigError(sorted(extra)[0], "a deployment file holds only [deployment]; put partnership "
                          "settings in each partnership's own config file", file=str(path))
    files = data["deployment"].get("partnerships")
    if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
        raise ConfigError("deployment.partnerships", 'list each partnership\'s config file, e.g. ["a.toml", "b.toml"]',
                          file=str(path))
    configs = [load_config(path.parent / f) for f in files]
    seen: dict[str, Path] = {}
    for cfg in configs:
        pid = cfg.partnership.id
        if pid in seen:
            raise ConfigError("deployment.partnerships", f"{cfg.path} and {seen[pid]} both use partnership.id {pid!r}",
                              file=str(path))
        seen[pid] = cfg.path
    return configs


def choose(configs: list[Config], partnership: str | None) -> Config:
    """The one partnership a command is about: --partnership, or the only one there is."""
    if partnership is None:
        if len(configs) == 1:
            return configs[0]
        raise ConfigError("--partnership", "this deployment serves " + ", ".join(c.partnership.id for c in configs)
                          + "; say which with --partnership ID")
    for cfg in configs:
        if cfg.partnership.id == partnership:
            return cfg
    raise ConfigError("--partnership", f"no partnership {partnership!r}; this deployment serves "
                      + ", ".join(c.partnership.id for c in configs))
