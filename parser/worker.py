"""A hard budget on parsing, enforced from outside: `parse_message` in a process of its own
that is killed when a message takes too long.

Every step of the parser is meant to be linear or bounded, but a timer signal cannot stop a
regular expression or a C library in the middle, and a step missed today (ours or a
library's) must not stall the inbox tomorrow. So the daemon hands raw bytes to a warm
worker process and waits at most `budget` seconds for each message's answer; past it the
worker is killed, started again, and the caller gets `too_costly(raw)`: a ParsedMessage
whose `too_costly` is True (kind "invalid", the header block read in the caller, nothing
else), to be quarantined with the reason "too costly to read". A worker that dies (a
crash, its memory cap) gives the same answer for the message it held.

Use (one long-lived worker; a batch is one round trip out, answers stream back, so each
message still has its own budget):

    with ParseWorker(budget=1.5) as worker:
        parsed = worker.parse(raw)                  # one message
        many = worker.parse_many([raw1, raw2])      # a backlog's batch, same order

The worker is started with the spawn context (a fresh interpreter, no copy of the daemon's
threads, sockets or database connections) and caps its own address space (RLIMIT_AS,
`memory_bytes`): a decompression bomb costs a MemoryError in the worker (caught by
parse_message) or the worker, never the daemon.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.connection
import resource
import signal
import sys
from typing import Callable, Sequence

from .head import read_head
from .message import parse_message
from .model import Issue, ParsedMessage

DEFAULT_BUDGET = 1.5  # seconds a message may take; with a restart, one hostile message delays the next < 2 s
DEFAULT_MEMORY = 1_500_000_000  # bytes of address space for the worker (Python + lxml need ~400 MB)
START_TIMEOUT = 60.0  # seconds for a new worker to import the parser (a loaded machine is slow)
TOO_COSTLY = Issue("message", "too costly to read")
PROCESS_NAME = b"escalations-prs"  # the worker's name in ps and /proc/PID/comm (15 bytes at most)


class WorkerUnavailable(RuntimeError):
    """No worker could be started: no message's fault, so the caller should wait and retry
    rather than blame (quarantine) the messages in hand."""


def too_costly(raw: bytes) -> ParsedMessage:
    """The answer for a message the worker gave up on: the header block (bounded, read here)
    so the caller knows who sent it, and nothing from the body."""
    head = read_head(raw)
    return ParsedMessage("invalid", None, None, None, None, errors=(TOO_COSTLY,), message_id=head.message_id,
                         sender=head.sender, sender_name=head.sender_name, subject=head.subject, date=head.date,
                         sender_problems=head.sender_problems, via_list=head.via_list, head=head, too_costly=True)


class ParseWorker:
    """One warm worker process; not thread-safe (one caller at a time)."""

    def __init__(self, budget: float = DEFAULT_BUDGET, memory_bytes: int | None = DEFAULT_MEMORY,
                 parse: Callable[[bytes], ParsedMessage] = parse_message, spare: bool = True):
        """`parse` runs in the worker (a module-level function: it is imported there by name);
        `spare`: keep a second worker started and idle, to take over at once (see start)."""
        self.spare = spare
        self._spare: tuple | None = None
        self.budget = budget
        self.memory_bytes = memory_bytes
        self._parse = parse
        self.restarts = 0  # how often a worker was killed or died (for logs and tests)
        self._context = multiprocessing.get_context("spawn")
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: multiprocessing.connection.Connection | None = None

    def __enter__(self) -> ParseWorker:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        """The worker process's id (None before it starts), for logs and monitoring."""
        return self._process.pid if self._process is not None else None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def start(self) -> None:
        """Start the worker now (else the first call does) and wait until it can parse. A
        spare is started beside it without waiting, so a worker killed past the budget is
        replaced by one already warm: the next message does not wait for an interpreter to
        start and import the parser (~0.2-1.5 s, more on a loaded machine)."""
        for _attempt in range(2 if self._process is None else 0):  # a dead spare: then a fresh one
            self._process, self._conn = self._spare or self._launch()
            self._spare = None
            try:
                if self._conn.poll(START_TIMEOUT) and self._conn.recv() == "ready":
                    break
            except (EOFError, OSError):  # it died before it could say so
                pass
            self._stop()
        if self._process is None:
            raise WorkerUnavailable("the parse worker did not start")
        if self._spare is None and self.spare:
            self._spare = self._launch()

    def _launch(self) -> tuple[multiprocessing.process.BaseProcess, multiprocessing.connection.Connection]:
        ours, theirs = self._context.Pipe(duplex=True)
        process = self._context.Process(target=_serve, args=(theirs, self.memory_bytes, self._parse),
                                        name="escalations-parse", daemon=True)
        process.start()
        theirs.close()
        return process, ours

    def parse(self, raw: bytes) -> ParsedMessage:
        """`raw` parsed within the budget, else too_costly(raw). Never raises for any bytes."""
        return self.parse_many([raw])[0]

    def parse_many(self, raws: Sequence[bytes]) -> list[ParsedMessage]:
        """Each of `raws` parsed (same order), each within its own budget."""
        out: list[ParsedMessage] = []
        while len(out) < len(raws):
            out.extend(self._run(list(raws[len(out):])))
        return out

    def close(self) -> None:
        self._stop()
        if self._spare is not None:
            _kill(*self._spare)
            self._spare = None

    # --- inside ---------------------------------------------------------------------------

    def _run(self, raws: list[bytes]) -> list[ParsedMessage]:
        """Answers for a prefix of `raws`: all of them, or those before one that cost too much
        (which is answered too_costly, the worker being restarted)."""
        self._send(_encode(raws))
        out: list[ParsedMessage] = []
        try:
            for raw in raws:
                if not self._conn.poll(self.budget):
                    raise TimeoutError
                out.append(self._conn.recv())
        except (TimeoutError, EOFError, OSError, BrokenPipeError):
            self.restarts += 1
            self._stop()
            out.append(too_costly(raws[len(out)]))
        return out

    def _send(self, blob: bytes) -> None:
        """Hand a batch over; a worker found dead (killed from outside, say) is replaced first,
        so its death is never blamed on a message it never saw."""
        if self._process is not None and not self.alive:
            self.restarts += 1
            self._stop()
        self.start()
        try:
            self._conn.send_bytes(blob)
        except (BrokenPipeError, OSError):
            self.restarts += 1
            self._stop()
            self.start()
            self._conn.send_bytes(blob)

    def _stop(self) -> None:
        if self._process is not None:
            _kill(self._process, self._conn)
        self._process, self._conn = None, None


def _kill(process: multiprocessing.process.BaseProcess, conn: multiprocessing.connection.Connection | None) -> None:
    process.kill()
    process.join(5)
    process.close()
    if conn is not None:
        conn.close()


def _encode(raws: list[bytes]) -> bytes:
    """A batch as one message: a count, then each length and its bytes (no pickle of 5 MB)."""
    parts = [len(raws).to_bytes(4, "big")]
    for raw in raws:
        data = bytes(raw)
        parts += [len(data).to_bytes(8, "big"), data]
    return b"".join(parts)


def _decode(blob: bytes) -> list[bytes]:
    count, at, out = int.from_bytes(blob[:4], "big"), 4, []
    for _ in range(count):
        size = int.from_bytes(blob[at:at + 8], "big")
        out.append(blob[at + 8: at + 8 + size])
        at += 8 + size
    return out


def _serve(conn: multiprocessing.connection.Connection, memory_bytes: int | None,
           parse: Callable[[bytes], ParsedMessage]) -> None:
    """The worker's loop: a batch in, one answer per message out, until the pipe closes. It
    dies with the thread that started it (the kernel's parent-death signal): a daemon
    killed with -9 leaves no worker behind, not even one caught in a runaway parse."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        libc.prctl(15, PROCESS_NAME, 0, 0, 0)  # PR_SET_NAME: `ps` and /proc/PID/comm tell it apart
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    conn.send("ready")
    while True:
        try:
            blob = conn.recv_bytes()
        except (EOFError, OSError):
            return  # the daemon closed the pipe, or died
        for raw in _decode(blob):
            conn.send(parse(raw))
