"""The command line's way to the service: the deployment's configs, and an App per
partnership on the command's clock, or on the moment `--now` set (CONTRACT.md §3)."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from tracker.daemon.clock import set_at


def configs(args) -> list:
    from tracker.config.deployment import load_deployment

    return load_deployment(args.config)


def service_now(args, calendar) -> Callable[[], datetime] | None:
    """The service's time for this command: None (the real clock's), or with --now that moment,
    moving on from it as the command runs; a --now without an offset is in `calendar`'s zone."""
    if args.now_at is None:
        return None
    return set_at(args.clock, calendar.assume_local(args.now_at))


def app_of(args, config):
    from tracker.daemon.app import App

    return App.from_config(config, args.clock, now=service_now(args, config.partnership.calendar))


def one_app(args):
    """The one partnership the command is about: --partnership, or the only one there is."""
    from tracker.config.deployment import choose

    return app_of(args, choose(configs(args), args.partnership))


def all_apps(args) -> list:
    """Every partnership of the deployment, or the one named with --partnership."""
    from tracker.config.deployment import choose

    found = configs(args)
    if args.partnership:
        found = [choose(found, args.partnership)]
    return [app_of(args, c) for c in found]
