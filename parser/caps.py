"""What the standard library's MIME parser is handed: the raw bytes, cut where its cost
would grow past what any honest message needs.

The stdlib's feedparser costs per line and per part, and recurses per nesting level, so
a message within the size limit could still cost seconds: 5 MB of newlines took 1.7 s,
100,000 tiny parts 3.5 s, a delivery report of 60,000 recipient blocks 1.8 s
(bench/bench_hostile.py). Each cap below is far beyond real mail (a 5 MB base64
attachment is ~66,000 lines; a real report names a handful of recipients), and cutting
is safe for the parser: truncated MIME is still read, as far as it goes. But what is left
is not the message: a part past the cut (a refused attachment, a later paragraph) is never
seen, so `cap_raw` says whether it cut (`Capped.cut`) and parser/message.py marks such a
message (model.py CUT), which the service refuses rather than act on a part of it. Only
dropping content counts: one line ending for all, blank-line runs shortened, the header
block reduced to its MIME fields and over-long parameters shortened are normalisations,
and dropping only whitespace is no cut. Every step is one pass in C (bytes.split / re.sub),
not a Python loop over lines.
"""
from __future__ import annotations

import re
from typing import NamedTuple

MAX_RAW_BYTES = 16_000_000  # past this the message is cut (and refused): above the 15.3 MB the default 10 MB attachment needs
MAX_HEAD_BYTES = 512_000  # header bytes sifted for MIME fields (as parser/head.py reads at most)
MAX_LINES = 300_000
MAX_SEPARATORS = 5_000  # lines starting "--": MIME boundaries (and signature lines)
MAX_BLANK_LINES = 5_000  # blank lines end headers, paragraphs and DSN blocks
MAX_MULTIPARTS = 60  # multipart containers read; the stdlib parser recurses once per nesting level
_MULTIPART_RE = re.compile(rb"content-type:\s*multipart/", re.IGNORECASE)
MAX_PARAM_HEADER = 2_000  # a Content-Type / -Disposition longer than this keeps its value and boundary
# The email package's _parseparam is quadratic in a header's length (3 s on one of 300 KB),
# and the feedparser calls it for every multipart part while parsing.
_LONG_PARAMS_RE = re.compile(rb"^(content-(?:type|disposition):)([^\n]*(?:\n[ \t][^\n]*)*)",
                             re.IGNORECASE | re.MULTILINE)
_BOUNDARY_RE = re.compile(rb'boundary\s*=\s*("[^"\n]{1,200}"|[^\s;"]{1,200})', re.IGNORECASE)
_FIELD_RE = re.compile(rb"[\x21-\x39\x3b-\x7e]{1,100}:")
_BLANK_RUN_RE = re.compile(rb"\n\n{3,}")  # a class, not a repeated group: 150 times faster
_CONTENT_RE = re.compile(rb"\S")


class Capped(NamedTuple):
    """What `cap_raw` leaves: the bytes for the MIME parser, and whether content was dropped."""

    raw: bytes
    cut: bool


def cap_raw(raw: bytes) -> Capped:
    """`raw` as the MIME parser may see it: the top-level header block reduced to its MIME
    fields (parser/head.py reads the rest; the stdlib's header list is scanned on every
    get(), so 100,000 headers cost it seconds), runs of blank lines shortened to two
    (nothing reads more than a paragraph break), then cut at the first cap reached; `cut`
    is True when anything but whitespace was left out."""
    cut = _dropped(raw, MAX_RAW_BYTES)
    # one line ending: the feedparser ends a line at \r, \n or \r\n, so each cap counts lines
    # as it does (a report of 7,000 lone-\r lines cost it 5 s); text is normalised later anyway
    raw = raw[:MAX_RAW_BYTES].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    raw = _BLANK_RUN_RE.sub(b"\n\n\n", mime_head_only(raw))
    raw = _LONG_PARAMS_RE.sub(_short_params, raw)
    end = min(_nth(raw, b"\n", MAX_LINES), _nth(raw, b"\n--", MAX_SEPARATORS), _nth(raw, b"\n\n", MAX_BLANK_LINES),
              _multipart_cut(raw))
    return Capped(raw[:end], cut or _dropped(raw, end))


def _dropped(raw: bytes, end: int) -> bool:
    """Whether raw[end:] holds anything but whitespace (one C pass, no copy of the rest)."""
    return end < len(raw) and _CONTENT_RE.search(raw, end) is not None


def _nth(raw: bytes, needle: bytes, n: int) -> int:
    """Where the n-th occurrence of `needle` starts (len(raw) if there are fewer)."""
    if raw.count(needle) < n:
        return len(raw)
    parts = raw.split(needle, n)
    return len(raw) - len(parts[-1]) - len(needle)


def _multipart_cut(raw: bytes) -> int:
    """Before the container that would nest too deep."""
    for count, match in enumerate(_MULTIPART_RE.finditer(raw), start=1):
        if count > MAX_MULTIPARTS:
            return match.start()
    return len(raw)


def mime_head_only(raw: bytes) -> bytes:
    """`raw` with only the Content-* and MIME-Version fields of its top-level header block,
    which ends where the email package's would: at a blank line or a line that is no field."""
    kept: list[bytes] = []
    keep = False
    at = 0
    while at < min(len(raw), MAX_HEAD_BYTES):
        end = raw.find(b"\n", at)
        end = len(raw) if end < 0 else end + 1
        line = raw[at:end]
        if line[:1] in (b" ", b"\t") and at:
            pass  # a continuation: kept with its field
        elif _FIELD_RE.match(line):
            keep = line[:8].lower() == b"content-" or line[:13].lower() == b"mime-version:"
        else:
            break  # the blank line (or the first body line)
        if keep:
            kept.append(line)
        at = end
    return b"".join(kept) + raw[at:]


def _short_params(match: re.Match) -> bytes:
    name, value = match.group(1), match.group(2)
    if len(value) <= MAX_PARAM_HEADER:
        return match.group(0)
    first = value.split(b";", 1)[0].strip()[:100]
    boundary = _BOUNDARY_RE.search(value)
    return name + b" " + first + (b"; boundary=" + boundary.group(1) if boundary else b"")
