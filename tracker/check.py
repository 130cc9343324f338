"""`escalations check`: validate config.toml, then reach every configured server; one line each."""
from __future__ import annotations

import asyncio

import sqlalchemy as sa

from tracker.errors import ConfigError


def check(config_path: str, partnership: str | None = None) -> int:
    """Every partnership of the deployment (or the one named), one line per check."""
    from tracker.deployment import choose, load_deployment

    try:
        configs = load_deployment(config_path)
        if partnership:
            configs = [choose(configs, partnership)]
    except ConfigError as exc:
        print(f"config   FAIL  {exc}")
        return 1
    ok = True
    for config in configs:
        ok = _check_one(config_path, config) and ok
    return 0 if ok else 1


def _check_one(config_path: str, config) -> bool:
    print(f"config   ok    {config.path}: partnership {config.partnership.id}, policy {config.partnership.policy.name}")
    results = [_database(config.database_url), _inbox(config.partnership.inbox),
               _outgoing(config.partnership.outgoing)]
    for name, ok, detail in results:
        print(f"{name:<8} {'ok  ' if ok else 'FAIL'}  {detail}")
    return all(ok for _, ok, _ in results)


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
