"""A parse that hangs on purpose, for the tests and benchmarks of the parse budget.

`hang_on_marker` is parse_message, except that a message carrying HANG_HEADER never comes
back: it stands for a parsing step that runs away (a regular expression or a C library no
signal can stop). It is a module-level function so that parser.worker.ParseWorker's
worker can import it by name.
"""
from __future__ import annotations

import time

from parser import parse_message

HANG_HEADER = b"X-Test-Parse: hang"


def hang_on_marker(raw: bytes):
    if HANG_HEADER in raw[:10_000]:
        while True:
            time.sleep(3600)
    return parse_message(raw)


def hanging(raw: bytes) -> bytes:
    """`raw` with the marker that makes hang_on_marker hang, as its first header."""
    return HANG_HEADER + b"\r\n" + raw
