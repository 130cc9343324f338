"""The parse worker: a hard budget per message, enforced by killing a process.

The slow, crashing and memory-hungry parses are stand-ins passed to the worker (its
`parse` seam), so each test knows it hits the budget: no parse of ours is that slow any
more (tests/test_parser_bounded.py). Nothing here is timed; figures: bench/bench_hostile.py."""
from __future__ import annotations

import os
import pathlib
import pickle
import signal
import time

import pytest

from parser import parse_message
from parser.worker import ParseWorker

DATA = pathlib.Path(__file__).parent / "data"
FIXTURES = [p.read_bytes() for p in sorted(DATA.glob("*.eml")) + sorted((DATA / "bounces").glob("*.eml"))]
REPLY = b"From: sam.carter@health.example.test\r\nSubject: [ESC-2026-0042] x\r\n\r\nRESOLVED - agreed\r\n"


def stand_in(raw: bytes):
    """parse_message, except for the three messages that misbehave on purpose."""
    if raw.endswith(b"SLOW"):
        time.sleep(600)
    if raw.endswith(b"CRASH"):
        os._exit(3)
    if raw.endswith(b"GREEDY"):
        return bytearray(4_000_000_000)  # past the worker's address-space cap
    return parse_message(raw)


@pytest.fixture(scope="module")
def worker():
    with ParseWorker(budget=3.0, memory_bytes=1_500_000_000, parse=stand_in) as w:
        yield w


def test_every_parsed_message_pickles_unchanged():
    for raw in FIXTURES:
        parsed = parse_message(raw)
        assert pickle.loads(pickle.dumps(parsed)) == parsed


def test_the_worker_answers_as_parse_message_does_in_order(worker):
    assert worker.parse_many(FIXTURES) == [parse_message(raw) for raw in FIXTURES]


@pytest.mark.parametrize("tail", [b"SLOW", b"CRASH", b"GREEDY"])
def test_a_message_past_the_budget_is_too_costly_and_the_next_is_read(worker, tail):
    restarts = worker.restarts
    hostile = b"From: Eve <eve@evil.example>\r\nMessage-ID: <x@evil.example>\r\n\r\n" + tail
    first, second, third = worker.parse_many([REPLY, hostile, REPLY])
    assert first == third == parse_message(REPLY)
    assert (second.too_costly, second.kind, second.errors[0].message) == (True, "invalid", "too costly to read")
    assert (second.message_id, second.head.author.address) == ("x@evil.example", "eve@evil.example")
    assert worker.restarts == restarts + 1


def test_a_worker_restarted_keeps_serving(worker):
    assert worker.parse(REPLY).command == "resolved"


def test_a_worker_killed_from_outside_between_batches_costs_no_message(worker):
    os.kill(worker.pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while worker.alive and time.monotonic() < deadline:  # the kill lands before the next batch
        time.sleep(0.01)
    assert [p.command for p in worker.parse_many([REPLY, REPLY])] == ["resolved", "resolved"]


def test_a_spare_killed_from_outside_is_replaced_and_costs_no_message(worker):
    spare, _ = worker._spare
    os.kill(spare.pid, signal.SIGKILL)
    os.kill(worker.pid, signal.SIGKILL)  # the next batch needs a new worker, and the spare is dead too
    deadline = time.monotonic() + 30
    while (worker.alive or spare.is_alive()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [p.command for p in worker.parse_many([REPLY, REPLY])] == ["resolved", "resolved"]


def test_closing_stops_the_worker_and_its_spare():
    w = ParseWorker(budget=3.0)
    w.start()
    pids = [w.pid, w._spare[0].pid]
    w.close()
    assert w._spare is None and w.pid is None
    for pid in pids:  # killed and reaped: no such process any more
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
