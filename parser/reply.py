r"""A reply's command: the keyword on the first line of the new text, and its statement.

Quoted history is removed in two passes. Our own line rules (parser/text.py) go first:
`>` quoting, Apple's "> On ..., at ...", Gmail's wrapped "wrote:" line, Outlook's From:/Sent:
block and "____" separator, "-----Original Message-----". mail-parser-reply then gets what is
left, as a second opinion on reply headers we do not know; it cannot go first because it
deletes Outlook web's "____" separator line before splitting. Signatures ("-- ", "Kind
regards", "Sent from my iPhone") and disclaimers are cut by our rules last.

The library's patterns are super-linear in a line's length (`On\s(?:.+?\s?.+?)\s?wrote:`:
37 s on one 60 KB line of "on on on") and in runs of blank lines (18 s on 20,000 newlines).
So it is only asked *where* the reply ends, on a skeleton of the text: each line cut to
LIBRARY_LINE_CHARS, runs of blank lines cut to two. Its answer is mapped back to a line
count of the real text, which keeps every character the sender wrote.
"""
from __future__ import annotations

import re

from mailparser_reply import EmailReplyParser

from .text import join_paragraphs, new_text_lines, until_signature

MAX_REPLY_CHARS = 20_000  # the new text sits at the top; the thread below is never needed
LIBRARY_LINE_CHARS = 200  # a reply header ("On <date>, <name> <address> wrote:") is shorter

_REPLY_PARSER = EmailReplyParser(languages=["en"])
KEYWORD_RE = re.compile(
    r"^[*_\s]*(not\s+resolved|not\s+agreed|not\s+identifying|conference\s+requested|acknowledged|resolved|escalate"
    r"|update|withdraw|route|correct)"
    r"[*_]*(?=$|[\s:\-–—,.!;])[*_]*\s*[:\-–—,.!;]?[*_]*\s*(.*)$",
    re.IGNORECASE | re.DOTALL,
)
_SIGN_OFF_RE = re.compile(r"^[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*){0,2}[,.]?$")
_COMMANDS = {
    "not resolved": "escalate", "not agreed": "escalate", "escalate": "escalate",
    "conference requested": "conference_requested", "acknowledged": "acknowledged",
    "resolved": "resolved", "update": "update", "withdraw": "withdraw",
    "route": "route", "correct": "correct",  # business support's (CONTRACT.md §2)
    "not identifying": "not_identifying",  # what a hold named identifies nobody (tracker/cases/holds.py)
}


def new_text(text: str) -> list[str]:
    """The lines the sender wrote, above the quoted thread and the signature."""
    lines = new_text_lines(text[:MAX_REPLY_CHARS])  # our rules first: the library drops "____" separators
    kept = _library_cut(lines)
    if kept:
        lines = lines[:kept]
    return _drop_sign_off(until_signature(lines))


def _library_cut(lines: list[str]) -> int | None:
    """How many of `lines` the reply library keeps as the latest reply; None if it cannot say."""
    skeleton, origin = _skeleton(lines)
    try:
        latest = _REPLY_PARSER.parse_reply("\n".join(skeleton))
    except Exception:  # the library is a helper, never a reason to fail
        return None
    if not latest or not latest.strip():
        return None
    text = "\n".join(line.strip() for line in skeleton)
    start = len(text) - len(text.lstrip())
    if not text.startswith(latest, start):
        return None  # it rewrote the text (a "____" line): our own rules decide
    last = text.count("\n", 0, start + len(latest))
    return origin[last] + 1


def _skeleton(lines: list[str]) -> tuple[list[str], list[int]]:
    """Lines cut for the library, and the index in `lines` each came from."""
    skeleton: list[str] = []
    origin: list[int] = []
    blanks = 0
    for i, line in enumerate(lines):
        blanks = blanks + 1 if not line else 0
        if blanks > 2:
            continue
        skeleton.append(line[:LIBRARY_LINE_CHARS])
        origin.append(i)
    return skeleton, origin


def _drop_sign_off(lines: list[str]) -> list[str]:
    """Drop a last paragraph that is only a name ("\n\nSam"): a sign-off, not part of the statement."""
    filled = [i for i, line in enumerate(lines) if line]
    if len(filled) >= 2 and filled[-1] - filled[-2] > 1 and _SIGN_OFF_RE.match(lines[filled[-1]]):
        return lines[: filled[-1]]
    return lines


def read_command(text: str) -> tuple[str | None, str | None]:
    """(command, statement) from a reply's body text.

    >>> read_command("Not resolved - the plan still lacks a date\\n\\nKind regards\\nSam")
    ('escalate', 'the plan still lacks a date')
    """
    lines = new_text(text)
    first = next((i for i, line in enumerate(lines) if line), None)
    if first is None:
        return None, None
    match = KEYWORD_RE.match(lines[first])
    if not match:
        return None, None
    command = _COMMANDS[" ".join(match.group(1).lower().split())]
    if command == "route":  # one person a line: the lines are kept as written
        rest = [match.group(2).strip()] + lines[first + 1 :]
        return command, "\n".join(line.strip() for line in rest if line.strip()) or None
    statement = join_paragraphs([match.group(2).strip()] + lines[first + 1 :])
    return command, statement
