"""How the bodies of a batch are parsed: the seam between ingest and the parser.

A reader has `parse_many(raws) -> [ParsedMessage, ...]` (same order) and `close()`. The
daemon and `escalations run --once` read through `parser.worker.ParseWorker`, one warm
process with a hard budget per message (past it: a ParsedMessage with `too_costly`, which
is quarantined unread); the demo and unit tests may read in this process (`IN_PROCESS`),
through the same seam: there is no second path.
"""
from __future__ import annotations

from typing import Protocol, Sequence

from parser import ParsedMessage, parse_message
from parser.worker import ParseWorker, WorkerUnavailable

__all__ = ["Reader", "InProcess", "IN_PROCESS", "ParseWorker", "WorkerUnavailable"]


class Reader(Protocol):
    def parse_many(self, raws: Sequence[bytes]) -> list[ParsedMessage]: ...

    def close(self) -> None: ...


class InProcess:
    """parse_message in this process, with no budget (the demo, unit tests)."""

    def parse_many(self, raws: Sequence[bytes]) -> list[ParsedMessage]:
        return [parse_message(raw) for raw in raws]

    def close(self) -> None:
        pass


IN_PROCESS = InProcess()
