"""Small typed readers of config.toml values: each checks one value's type (and range) and
names its key in the ConfigError, so a person knows which line to fix.

`key` is the dotted name shown in errors ("inbox.port"); the value is looked up in `t` by
its last part ("port").
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from email_validator import EmailNotValidError, validate_email

from tracker.errors import ConfigError


def table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(key, f"must be a table ([{key}]), got {type(value).__name__}")
    return value


def only_known(t: Mapping[str, Any], prefix: str, known: set[str]) -> None:
    for k in t:
        if k not in known:
            raise ConfigError(f"{prefix}{k}", f"unknown key; known keys here are: {', '.join(sorted(known))}")


def text(t: Mapping[str, Any], key: str, default: str | None) -> str | None:
    value = t.get(key.rsplit(".", 1)[-1], default)
    if value is not None and not isinstance(value, str):
        raise ConfigError(key, f"must be text in quotes, got {value!r}")
    return value


def texts(t: Mapping[str, Any], key: str) -> list[str]:
    value = t.get(key.rsplit(".", 1)[-1], [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(key, f'must be a list of text values, e.g. ["a", "b"]; got {value!r}')
    return value


def email(t: Mapping[str, Any], key: str, default: str | None) -> str | None:
    value = text(t, key, default)
    return _check_email(key, value) if value else value


def emails(t: Mapping[str, Any], key: str) -> list[str]:
    return [_check_email(key, v) for v in texts(t, key)]


def _check_email(key: str, value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False, test_environment=True).normalized.lower()
    except EmailNotValidError as exc:
        raise ConfigError(key, f"{value!r} is not an email address: {exc}") from None


def choice(t: Mapping[str, Any], key: str, default: str, choices: tuple[str, ...]) -> str:
    value = text(t, key, default)
    if value not in choices:
        raise ConfigError(key, f"must be one of {', '.join(repr(c) for c in choices)}; got {value!r}")
    return value


def integer(t: Mapping[str, Any], key: str, default: int, lo: int, hi: int) -> int:
    value = t.get(key.rsplit(".", 1)[-1], default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(key, f"must be a whole number from {lo} to {hi}; got {value!r}")
    return value


def number(t: Mapping[str, Any], key: str, default: float, lo: float, hi: float) -> float:
    value = t.get(key.rsplit(".", 1)[-1], default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise ConfigError(key, f"must be a number from {lo} to {hi}; got {value!r}")
    return float(value)


def boolean(t: Mapping[str, Any], key: str, default: bool) -> bool:
    value = t.get(key.rsplit(".", 1)[-1], default)
    if not isinstance(value, bool):
        raise ConfigError(key, f"must be true or false (no quotes); got {value!r}")
    return value


def file_path(t: Mapping[str, Any], key: str, base: Path, default: str | None) -> Path | None:
    """A path; a relative one is read relative to the config file's folder (`base`)."""
    value = text(t, key, default)
    if value is None:
        return None
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p
