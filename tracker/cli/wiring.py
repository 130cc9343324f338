"""The command line's way to the service: the deployment's configs, and an App per
partnership on the command's clock, or on the moment `--now` set (CONTRACT.md §3)."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Callable

from tracker.daemon.clock import set_at
from tracker.errors import CommandFailed


def configs(args) -> list:
    from tracker.config.deployment import load_deployment

    return load_deployment(args.config)


def service_now(args, calendar) -> Callable[[], datetime] | None:
    """The service's time for this command: None (the real clock's), or with --now that moment,
    moving on from it as the command runs; a --now without an offset is in `calendar`'s zone."""
    if args.now_at is None:
        return None
    return set_at(args.clock, calendar.assume_local(args.now_at))


def app_of(args, config, reading: bool = False):
    """`reading`: a command that only reads refuses a SQLite database that is not there yet,
    rather than making an empty one and answering "no cases" from it (another database than
    the service's: a wrong --config or state directory)."""
    from tracker.daemon.app import App

    if reading:
        missing_database(config)
    return App.from_config(config, args.clock, now=service_now(args, config.partnership.calendar))


def missing_database(config) -> None:
    import sqlalchemy as sa

    url = sa.engine.make_url(config.database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return
    if not Path(url.database).exists():
        raise CommandFailed(f"no database at {url.database}: {config.path} names one the service has not made; "
                            "give the --config the service runs with (and its [state] dir or "
                            "$ESCALATIONS_STATE_DIR), or make it with `escalations db upgrade`")


def one_app(args, reading: bool = False):
    """The one partnership the command is about: --partnership, or the only one there is."""
    from tracker.config.deployment import choose

    return app_of(args, choose(configs(args), args.partnership), reading)


def all_apps(args, reading: bool = False) -> list:
    """Every partnership of the deployment, or the one named with --partnership."""
    from tracker.config.deployment import choose

    found = configs(args)
    if args.partnership:
        found = [choose(found, args.partnership)]
    return [app_of(args, c, reading) for c in found]
