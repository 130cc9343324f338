"""Line rules shared by replies and intake: where quoted history, signatures and
disclaimers start. Every rule matches one stripped line, so scanning is linear."""
from __future__ import annotations

import re

_I = re.IGNORECASE

QUOTE_HEAD_RE = re.compile(
    r"^(?:-{2,}\s*(?:original message|forwarded message|forwarded e-?mail)\s*-{2,}"
    r"|begin forwarded message:?"
    r"|_{10,}|-{20,}"
    r"|on\b.{0,300}\bwrote:?"
    r"|le\b.{0,300}\ba écrit\s?:?)$",
    _I,
)
_ON_START_RE = re.compile(r"^on\s.{0,300}$", _I)
_WROTE_END_RE = re.compile(r"^.{0,300}\bwrote:?$", _I)
_HEADER_FROM_RE = re.compile(r"^[*_]{0,2}from[*_]{0,2}:[*_]{0,2}\s*\S", _I)
_HEADER_NEXT_RE = re.compile(r"^[*_]{0,2}(?:sent|date|to|subject|cc)[*_]{0,2}:", _I)

SIGNATURE_RE = re.compile(
    r"^(?:--|—|"
    r"(?:(?:kind|best|warm|warmest|many|with (?:kind|best)|thanks and|thanks &)\s+)?"
    r"(?:regards|wishes|thanks|thank you|cheers)(?:\s+(?:again|all))?[,.!]*(?:\s*,?\s*[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*){0,3})?"
    r"|sent from (?:my \S.{0,40}|outlook\b.{0,40}|mail for windows.{0,20}|yahoo mail.{0,30}|samsung.{0,40})"
    r"|sent (?:via|with) [\w\s-]{1,40}"
    r"|get outlook for \w+.*)$",
    _I,
)
DISCLAIMER_RE = re.compile(
    r"^[*\s]*(?:disclaimer\b|confidentiality\b|important(?: notice)?:|caution:|privileged\b"
    r"|this e-?mail (?:and any|is |may |message|contains|has been|was )"
    r"|this (?:message|communication) (?:and any|is |may |contains)"
    r"|the information (?:contained )?in this (?:e-?mail|message)"
    r"|if you (?:are not|have received) (?:the intended|this)"
    r"|please consider the environment|any views or opinions)",
    _I,
)


def is_quote_head(lines: list[str], i: int) -> bool:
    """Does quoted history start at stripped line `i`?"""
    line = lines[i]
    if QUOTE_HEAD_RE.match(line):
        return True
    if _ON_START_RE.match(line) and i + 1 < len(lines) and _WROTE_END_RE.match(lines[i + 1]):
        return True  # Gmail wraps "On ..., X <x@y>\nwrote:"
    if _HEADER_FROM_RE.match(line):
        return any(_HEADER_NEXT_RE.match(nxt) for nxt in lines[i + 1 : i + 4])
    return False


def is_signature(line: str) -> bool:
    return bool(SIGNATURE_RE.match(line) or DISCLAIMER_RE.match(line))


def new_text_lines(text: str) -> list[str]:
    """The stripped lines a person wrote above the quoted history, `>` lines dropped."""
    lines = [line.strip() for line in text.split("\n")]
    kept: list[str] = []
    for i, line in enumerate(lines):
        if line.startswith(">"):
            continue
        if line and is_quote_head(lines, i):
            break
        kept.append(line)
    return kept


def until_signature(lines: list[str]) -> list[str]:
    """Lines before the first signature or disclaimer line."""
    for i, line in enumerate(lines):
        if line and is_signature(line):
            return lines[:i]
    return lines


def join_paragraphs(lines: list[str]) -> str | None:
    """Lines joined by spaces, blank-line paragraphs by newlines; None if empty."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines + [""]:
        if line:
            current.append(line)
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    return "\n".join(paragraphs) or None
