"""The demo's last step: its folder made ready for the desk.

`escalations demo` leaves a config.toml in its folder (the demo's own settings, so
`escalations --config demo-output/config.toml desk` serves exactly what the demo wrote), a
session key in a secrets file beside it, and a one-time sign-in link for business support,
mailed through the outbox like every link (so it is also in the demo's sent mail).
"""
from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path
from typing import TextIO

from tracker.desk.signin.links import request_link
from tracker.desk.signin.settings import desk_settings
from tracker.storage.db import transaction

LINK_MINUTES = 60  # the demo's link lasts an hour: time to read the timeline first


def desk_table(data: dict, folder: Path) -> dict:
    """The [desk] table of the demo: the project's, with a session key from a file in `folder`."""
    key = folder / "desk-secret"
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(48))
    return {**data.get("desk", {}), "session_secret_env": "", "session_secret_file": str(key),
            "link_minutes": LINK_MINUTES, "base_url": "http://127.0.0.1:8080"}


def write_config(data: dict, path: Path) -> None:
    path.write_text("# Written by `escalations demo`: the demo's own settings.\n" + toml(data), encoding="utf-8")
    os.chmod(path, 0o600)


def ready(app, folder: Path, out: TextIO) -> str:
    """Mail business support a sign-in link and say how to open the desk. Returns the link.
    The app's own time must be the real clock's by now: the desk checks the link on that,
    and the mail is due at the time it was asked for."""
    settings = desk_settings(app.config)
    now = app.now()
    address = app.partnership.business_support[0]
    with transaction(app.engine) as s:
        link = request_link(s, app.partnership, settings, address, now)
    asyncio.run(app.send_all())
    print(f"\nThe desk: run\n    .venv/bin/escalations --config {folder / 'config.toml'} desk\n"
          f"and open this one-time sign-in link for {address} (it works once, within {LINK_MINUTES} "
          f"minutes; it is in the sent mail too):\n    {link}\n"
          "For another link, ask for one on the sign-in page and run this demo's daemon once to send it:\n"
          f"    .venv/bin/escalations --config {folder / 'config.toml'} run --once", file=out)
    return link


# --- a small TOML writer: the config's values are tables, lists of tables, text, numbers,
# booleans and lists of text, which is all it needs to know ---------------------------------

def toml(data: dict, prefix: str = "") -> str:
    plain = {k: v for k, v in data.items() if not isinstance(v, dict) and not _tables(v)}
    lines = [f"{_key(k)} = {_value(v)}" for k, v in plain.items()]
    out = "\n".join(lines) + ("\n" if lines else "")
    for k, v in data.items():
        name = f"{prefix}.{_key(k)}" if prefix else _key(k)
        if isinstance(v, dict):
            out += f"\n[{name}]\n" + toml(v, name)
        elif _tables(v):
            for item in v:
                out += f"\n[[{name}]]\n" + toml(item, name)
    return out


def _tables(v) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else _value(k)


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    text = str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'
