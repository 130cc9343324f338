"""Logging for the daemon: one JSON object a line when stdout is not a terminal (journald,
containers), readable lines when it is. Messages carry case references, never case content:
the code logs outcomes and reasons, not fields or statements.

Each JSON line names what an operator needs to act on it:
- `partnership`: whose work it is (set per daemon, watcher thread and sender process with
  `for_partnership`; a deployment may serve several);
- `message_key` (the mailbox UID or Maildir key), `case` (its reference) or `outbox_row`,
  when the call passes them as `extra=`;
- `error`: the exception's class and, where the message is about a file, a connection, a
  server or the database, its message (`describe`). Messages that could quote a mail (the
  parser's, decoding errors, any ValueError or KeyError of the code that reads cases) keep
  their class only, with `error_at`, the file and line of the code where it was raised.
  Addresses, credentials in URLs and every secret the service has read are blanked out.
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import datetime, timezone

from tracker.config.values import SECRETS_READ

_PARTNERSHIP: contextvars.ContextVar[str | None] = contextvars.ContextVar("partnership", default=None)
KEYS = ("message_key", "case", "outbox_row")
# Exceptions from these modules speak of files, connections, servers and the database, not
# of what a mail says; OSError (files, sockets, TLS) is one of them wherever it is raised.
_SAFE_MODULES = ("ssl", "socket", "imaplib", "imapclient", "smtplib", "aiosmtplib", "sqlalchemy",
                 "psycopg", "sqlite3", "alembic", "msal", "google.auth", "requests", "urllib3", "httpx",
                 "mailer.transport", "mailer.oauth", "tracker.errors", "asyncio", "concurrent")
_SAFE_BUILTINS = (OSError, TimeoutError, ConnectionError, EOFError, MemoryError)
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_URL_CREDENTIALS = re.compile(r"(://[^/\s:@]*):[^@\s/]*@")
_OUR_CODE = re.compile(r"[/\\]((?:tracker|mailer|parser)[/\\].+)$")
LIMIT = 300


def for_partnership(pid: str | None) -> None:
    """Every line logged from here on in this thread or task (and what it starts) names `pid`."""
    _PARTNERSHIP.set(pid)


def describe(exc: BaseException) -> str:
    """`Class: message` with the message only where it cannot carry case content (see the
    module doc), shortened and with addresses and secrets blanked out."""
    name = type(exc).__qualname__  # imaplib's "IMAP4.error", not "error"
    message = _safe_message(exc)
    return f"{name}: {message}" if message else name


def _safe_message(exc: BaseException) -> str:
    module = type(exc).__module__ or ""
    if module.startswith("sqlalchemy") and getattr(exc, "orig", None) is not None:
        exc = exc.orig  # the driver's own words, never the statement or its parameters
        module = type(exc).__module__ or ""
    if not (isinstance(exc, _SAFE_BUILTINS) or (module != "builtins" and module.startswith(_SAFE_MODULES))):
        return ""
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror + "".join(f": {f}" for f in (exc.filename, exc.filename2) if f is not None)
    else:
        text = str(exc)
    return scrub(text.strip().splitlines()[0] if text.strip() else "")


def scrub(text: str) -> str:
    """`text` without secrets, credentials in URLs or email addresses, at most LIMIT characters."""
    for value in sorted(SECRETS_READ, key=len, reverse=True):
        text = text.replace(value, "***")
    text = _EMAIL.sub("<address>", _URL_CREDENTIALS.sub(r"\1:***@", text))
    return text if len(text) <= LIMIT else text[:LIMIT - 1] + "…"


def where(exc: BaseException) -> str | None:
    """The file and line of our code (tracker/, mailer/, parser/) nearest to where `exc` was raised."""
    found, tb = None, exc.__traceback__
    while tb is not None:
        match = _OUR_CODE.search(tb.tb_frame.f_code.co_filename)
        if match:
            found = f"{match.group(1)}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub_message(record),
        }
        partnership = getattr(record, "partnership", None) or _PARTNERSHIP.get()
        if partnership:
            entry["partnership"] = partnership
        for key in KEYS:
            if getattr(record, key, None) is not None:
                entry[key] = getattr(record, key)
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            entry["error"] = describe(exc)
            at = where(exc)
            if at:
                entry["error_at"] = at
        return json.dumps(entry, ensure_ascii=False, default=str)


def scrub_message(record: logging.LogRecord) -> str:
    """The message with the secrets the service has read blanked out (addresses stay: the
    code logs an address only where it means to, and never case content)."""
    text = record.getMessage()
    for value in sorted(SECRETS_READ, key=len, reverse=True):
        text = text.replace(value, "***")
    return _URL_CREDENTIALS.sub(r"\1:***@", text)


class _Readable(logging.Formatter):
    """For a terminal: the line, its keys, and the error as describe() gives it (no traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        keys = "".join(f" [{k} {getattr(record, k)}]" for k in KEYS if getattr(record, k, None) is not None)
        pid = getattr(record, "partnership", None) or _PARTNERSHIP.get()
        line = (f"{self.formatTime(record)} {record.levelname} {record.name}{f' ({pid})' if pid else ''}: "
                f"{scrub_message(record)}{keys}")
        exc = record.exc_info[1] if record.exc_info else None
        return line + (f" [{describe(exc)}{f' at {where(exc)}' if where(exc) else ''}]" if exc else "")


class _Stdout(logging.StreamHandler):
    """Writes to whatever sys.stdout is when a line is logged, not what it was when logging
    was set up (a command run in-process, as the tests and the desk's runner do, may have had
    its standard output replaced and closed since)."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure(level: str = "INFO", stream=None) -> None:
    handler = logging.StreamHandler(stream) if stream is not None else _Stdout()
    handler.set_by_escalations = True  # so a test harness can tell ours from its own
    stream = stream or sys.stdout
    handler.setFormatter(_Readable() if stream.isatty() else JsonLines())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("apscheduler", "alembic", "aiosmtplib", "imapclient"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
