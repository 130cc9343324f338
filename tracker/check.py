"""`escalations check`: validate config.toml, then reach every configured server; one line each."""
from __future__ import annotations

import asyncio

import sqlalchemy as sa

from tracker.errors import ConfigError


def check(config_path: str) -> int:
    from tracker.config import load_config

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print(f"config   FAIL  {exc}")
        return 1
    print(f"config   ok    {config_path}: partnership {config.partnership.id}, policy {config.partnership.policy.name}")
    results = [_database(config.database_url), _inbox(config.partnership.inbox),
               _outgoing(config.partnership.outgoing)]
    for name, ok, detail in results:
        print(f"{name:<8} {'ok  ' if ok else 'FAIL'}  {detail}")
    return 0 if all(ok for _, ok, _ in results) else 1


def _database(url: str) -> tuple[str, bool, str]:
    from tracker.db import make_engine

    shown = sa.engine.make_url(url).render_as_string(hide_password=True)
    try:
        with make_engine(url).connect() as conn:
            conn.execute(sa.text("select 1"))
        return "database", True, shown
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return "database", False, f"{shown}: {exc.__class__.__name__}: {exc}"


def _inbox(cfg) -> tuple[str, bool, str]:
    from tracker.app import open_inbox

    where = str(cfg.path) if cfg.kind == "maildir" else f"{cfg.security} {cfg.host}:{cfg.port} as {cfg.username}"
    try:
        open_inbox(cfg).close()
        return "inbox", True, f"{cfg.kind} {where}"
    except Exception as exc:  # noqa: BLE001
        return "inbox", False, f"{cfg.kind} {where}: {exc.__class__.__name__}: {exc}"


def _outgoing(cfg) -> tuple[str, bool, str]:
    from tracker.app import open_transport

    where = str(cfg.path) if cfg.kind == "maildir" else f"{cfg.security} {cfg.host}:{cfg.port}"

    async def probe():
        t = open_transport(cfg)
        if hasattr(t, "_connection"):
            await t._connection()
        await t.close()

    try:
        asyncio.run(probe())
        return "outgoing", True, f"{cfg.kind} {where}"
    except Exception as exc:  # noqa: BLE001
        return "outgoing", False, f"{cfg.kind} {where}: {exc.__class__.__name__}: {exc}"
