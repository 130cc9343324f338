"""`escalations desk`: the desk under uvicorn, from the same config and database as the daemon.

    serve(app, host="127.0.0.1", port=8080)     # app: tracker.app.App
"""
from __future__ import annotations

import logging

import uvicorn

from tracker.daemon import status
from tracker.desk.context import Desk
from tracker.desk.signin.settings import desk_settings
from tracker.desk.web import create_app

log = logging.getLogger("tracker.desk")


def desk_for(app) -> Desk:
    """The desk of one partnership's App (settings validated here: a bad [desk] stops start-up)."""
    settings = desk_settings(app.config)
    settings.session_secret()  # a missing key is a one-line error now, not a failure per request
    return Desk(partnership=app.partnership, engine=app.engine, composer=app.composer, clock=app.now,
                settings=settings, liveness=lambda: status.report(app))


def serve(app, host: str, port: int) -> None:
    desk = desk_for(app)
    log.warning("desk for %s on http://%s:%d (people open %s)", app.partnership.id, host, port,
                desk.settings.base_url)
    # Our own access log (tracker.desk.web.AccessLog) replaces uvicorn's, which writes query strings.
    uvicorn.run(create_app(desk), host=host, port=port, access_log=False, proxy_headers=True,
                forwarded_allow_ips="127.0.0.1", log_config=None, server_header=False)
