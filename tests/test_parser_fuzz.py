"""A fuzz soak: mutated real fixtures and hostile generated MIME, through the parse worker.
Every message must be read without an internal error (parse_message's catch-all is a
crash here) and within the worker's budget (too_costly is a failure).

Its size comes from the environment: ESCALATIONS_FUZZ_MESSAGES (default 300, what CI
runs; 100000 as a soak), ESCALATIONS_FUZZ_SEED (default 0) to replay a run. A failing
message is written to the test's tmp folder, named in the failure.
"""
from __future__ import annotations

import os
import pathlib
import random

import pytest

from parser.message import UNREADABLE
from parser.worker import ParseWorker

MESSAGES = int(os.environ.get("ESCALATIONS_FUZZ_MESSAGES", "300"))
SEED = int(os.environ.get("ESCALATIONS_FUZZ_SEED", "0"))
BATCH = 50
DATA = pathlib.Path(__file__).parent / "data"
FIXTURES = [p.read_bytes() for p in sorted(DATA.glob("*.eml")) + sorted((DATA / "bounces").glob("*.eml"))]
NASTY = [b"\x00", b"\r", b"\n", b"\r\n\r\n", b"<", b">", b"(", b")", b'"', b"\\", b"=?utf-8?q?", b"?=", b"@",
         b"--", b"Content-Type: multipart/mixed; boundary=b\r\n", b"\r\n--b\r\n", b"=\r\n", b"\xff\xfe", b"\t",
         b"On ", b" wrote:", b"From: ", b"<div ", b"<table><tr><td>", b"Reasons: ", b"Disagreement with: ",
         b"Authentication-Results: x; dmarc=pass (", b"\xe2\x80\xae", b";", b":", b"\x1b[2J"]
TYPES = [b"text/plain", b"text/html", b"multipart/mixed", b"multipart/alternative", b"multipart/report; "
         b"report-type=delivery-status", b"message/rfc822", b"message/delivery-status", b"application/zip",
         b"text/rfc822-headers", b"application/vnd.openxmlformats-officedocument.wordprocessingml.document"]


def mutate(rng: random.Random, raw: bytes) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 8)):
        at = rng.randint(0, len(data))
        move = rng.random()
        if move < 0.3:
            data[at:at + rng.randint(0, 64)] = rng.choice(NASTY)
        elif move < 0.5:
            data[at:at] = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 32)))
        elif move < 0.7:  # amplify a slice: the way to find what is super-linear
            piece = bytes(data[at:at + rng.randint(1, 40)]) or rng.choice(NASTY)
            data[at:at] = piece * rng.randint(100, 200_000 // len(piece))
        elif move < 0.85:
            other = rng.choice(FIXTURES)
            start = rng.randint(0, len(other))
            data[at:at] = other[start:start + rng.randint(1, 2000)]
        else:
            del data[at:at + rng.randint(1, 200)]
    return bytes(data[:400_000])


def hostile_mime(rng: random.Random, depth: int = 0) -> bytes:
    """A generated entity: random types, encodings and nesting, some parts huge."""
    ctype = rng.choice(TYPES)
    head = b"Content-Type: " + ctype
    if ctype.startswith(b"multipart/") and depth < 12:
        boundary = b"b%d" % rng.getrandbits(16)
        parts = b"".join(b"--" + boundary + b"\r\n" + hostile_mime(rng, depth + 1) + b"\r\n"
                         for _ in range(rng.randint(0, 6)))
        end = b"--" + boundary + b"--\r\n" if rng.random() < 0.8 else b""
        return head + b'; boundary="' + boundary + b'"\r\n\r\n' + parts + end
    cte = rng.choice([b"7bit", b"base64", b"quoted-printable", b"8bit", b"x-unknown"])
    body = rng.choice(NASTY) * rng.randint(1, 5_000) if rng.random() < 0.5 else rng.choice(FIXTURES)[-2000:]
    name = b'; name="' + rng.choice([b"form.docx", b"evil.zip.", b"a\x00.exe", b"=?utf-8?q?x?="]) + b'"'
    return head + (name if rng.random() < 0.3 else b"") + b"\r\nContent-Transfer-Encoding: " + cte + b"\r\n\r\n" + body


def message(rng: random.Random) -> bytes:
    if rng.random() < 0.6:
        return mutate(rng, rng.choice(FIXTURES))
    top = (b"From: " + rng.choice([b"Sam <sam.carter@health.example.test>", b"MAILER-DAEMON@x.example.test",
                                   b"=?utf-8?q?=3C=40?= <e@evil.example>", b"a@b.test, c@d.test"]) + b"\r\n"
           b"Subject: " + rng.choice([b"Escalation", b"RE: [ESC-2026-0042] x", b"Undeliverable: x"]) + b"\r\n"
           b"MIME-Version: 1.0\r\n")
    return mutate(rng, top + hostile_mime(rng)) if rng.random() < 0.3 else top + hostile_mime(rng)


@pytest.fixture(scope="module")
def worker():
    with ParseWorker() as w:
        yield w


def test_mutated_and_hostile_mail_is_read_without_error_and_within_budget(worker, tmp_path):
    rng = random.Random(SEED)
    crashes, over = [], []
    for start in range(0, MESSAGES, BATCH):
        raws = [message(rng) for _ in range(min(BATCH, MESSAGES - start))]
        for i, parsed in enumerate(worker.parse_many(raws)):
            if parsed.too_costly:
                over.append(_keep(tmp_path, "over", start + i, raws[i]))
            elif UNREADABLE in parsed.errors:
                crashes.append(_keep(tmp_path, "crash", start + i, raws[i]))
    assert (crashes, over) == ([], []), f"of {MESSAGES} messages (seed {SEED})"


def _keep(folder: pathlib.Path, what: str, index: int, raw: bytes) -> str:
    path = folder / f"{what}-{SEED}-{index}.eml"
    path.write_bytes(raw)
    return str(path)
