"""Benchmark: parse_message against the floor of Python's own email parsing (one core).

Usage: python bench/bench_parser.py [N]   (N messages, default 5000: the fixtures repeated)
The floor is email.message_from_bytes(raw, policy=email.policy.default), walking every part
and calling get_content() on each leaf. The aim is a ratio of at least 0.5.
"""
from __future__ import annotations

import email
import email.policy
import pathlib
import shlex
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from parser import parse_message  # noqa: E402


ROUNDS = 3


def corpus(size: int) -> list[bytes]:
    raws = [p.read_bytes() for p in sorted((ROOT / "tests" / "data").glob("*.eml"))]
    return [raws[i % len(raws)] for i in range(size)]


def floor(raw: bytes) -> None:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    for part in message.walk():
        if not part.is_multipart():
            try:
                part.get_content()
            except Exception:  # broken fixtures: the floor must not stop either
                pass


def rate(fn, messages: list[bytes]) -> float:
    start = time.perf_counter()
    for raw in messages:
        fn(raw)
    return len(messages) / (time.perf_counter() - start)


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    messages = corpus(size)
    rate(parse_message, messages[:200])  # warm caches (regexes, imports) before timing
    ours, base = 0.0, 0.0
    for _ in range(ROUNDS):  # alternate, keep each side's best: a shared machine is noisy
        ours = max(ours, rate(parse_message, messages))
        base = max(base, rate(floor, messages))
    print(f"command:       {' '.join(shlex.quote(a) for a in [sys.executable] + sys.argv)}")
    print(f"messages:      {size} (the {len(set(messages))} fixtures repeated), best of {ROUNDS} alternating rounds, one core")
    print(f"parse_message: {ours:,.0f} msg/s")
    print(f"email floor:   {base:,.0f} msg/s")
    print(f"ratio:         {ours / base:.2f} (aim >= 0.50)")


if __name__ == "__main__":
    main()
