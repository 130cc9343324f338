"""Messages shaped as in the security review's F5: an UPDATE whose invoice.exe comes after
filler that runs past one of parser/caps.py's caps, or (UNDER) stays just within it."""
from __future__ import annotations

import base64

from parser.caps import MAX_BLANK_LINES, MAX_LINES, MAX_RAW_BYTES, MAX_SEPARATORS

EXE = base64.encodebytes(b"MZ" + b"\x90" * 1000)
EXE_PART = (b"--Q\r\nContent-Type: application/x-msdownload\r\nContent-Disposition: attachment; filename=invoice.exe\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + EXE + b"\r\n")


def head(sender: str = "Casey Tester <casey@council.example.test>", subject: str = "RE: [ESC-2026-0042] notice",
         in_reply_to: str | None = None, n: int = 1) -> bytes:
    threaded = f"In-Reply-To: <{in_reply_to}>\r\n" if in_reply_to else ""
    return (f"From: {sender}\r\nTo: escalations@partnership.example.test\r\nSubject: {subject}\r\n{threaded}"
            f"Message-ID: <cut{n}@council.example.test>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=Q\r\n\r\n").encode()


def update(filler: bytes = b"", pad: bytes = b"", exe: bool = True, top: bytes | None = None,
           pad_type: bytes = b"application/octet-stream", pad_name: bytes = b"pad.bin") -> bytes:
    """An UPDATE with `filler` in its text, then a `pad` part, then (if `exe`) invoice.exe."""
    padding = (b"--Q\r\nContent-Type: " + pad_type + b"\r\nContent-Disposition: attachment; filename=" + pad_name
               + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + pad + b"\r\n") if pad else b""
    return ((head() if top is None else top) + b"--Q\r\nContent-Type: text/plain\r\n\r\nUPDATE: see attached\r\n"
            + filler + padding + (EXE_PART if exe else b"") + b"--Q--\r\n")


def pad_of(size: int) -> bytes:
    """About `size` bytes of base64 (76 characters and a newline a line)."""
    return base64.encodebytes(b"\x00" * (size * 3 // 4 * 76 // 77))


# (filler, pad) past each cap, and just under it (the whole message within it)
PAST = {"separators": (b"--\r\n" * MAX_SEPARATORS, b""), "lines": (b"x\r\n" * MAX_LINES, b""),
        "blank lines": (b"\r\n\r\nx" * MAX_BLANK_LINES + b"\r\n", b""), "bytes": (b"", pad_of(MAX_RAW_BYTES + 400_000))}
UNDER = {"separators": (b"--\r\n" * (MAX_SEPARATORS - 20), b""), "lines": (b"x\r\n" * (MAX_LINES - 40), b""),
         "blank lines": (b"\r\n\r\nx" * (MAX_BLANK_LINES - 20) + b"\r\n", b""),
         "bytes": (b"", pad_of(MAX_RAW_BYTES - 10_000))}
