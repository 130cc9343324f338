"""Text for a terminal: the one way the command line prints.

What the CLI prints often holds text other people wrote: a party's statement, a name, a
category, a file name given on the command line, a server's error. A terminal obeys escape
sequences in it (ESC [ ... moves the cursor, rewrites the title, hides lines; U+202E turns
text round), so everything printed goes through `safe()`: control characters and the
invisible direction marks are shown as escapes (`\\x1b`, `\\u202e`), never obeyed.

    >>> safe("Dr Sam\\x1b[2J Sample")
    'Dr Sam\\\\x1b[2J Sample'
"""
from __future__ import annotations

import json
import sys
import unicodedata
from typing import TextIO

# Marks that reorder or hide text without being control characters (Unicode category Cf).
_BIDI = set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A)) | {0x200E, 0x200F, 0x061C}


def _shown(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _bad(ch: str) -> bool:
    return unicodedata.category(ch) == "Cc" or ord(ch) in _BIDI


def safe(text: object, lines: bool = False) -> str:
    """`text` as a terminal may show it. `lines`: keep newlines (and tabs) of a multi-line
    view; otherwise they are escaped too, so a one-line message stays one line."""
    s = str(text)
    keep = "\n\t" if lines else ""
    if not any(_bad(ch) and ch not in keep for ch in s):
        return s
    return "".join(_shown(ch) if _bad(ch) and ch not in keep else ch for ch in s)


def safe_json(value) -> str:
    """JSON (indented, non-ASCII kept readable) with C1 controls and direction marks escaped
    as well: json escapes only C0 controls, and U+009B is a CSI to some terminals."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return "".join(f"\\u{ord(ch):04x}" if _bad(ch) and ch != "\n" else ch for ch in text)


def out(text: object = "", stream: TextIO | None = None) -> None:
    """Print a (multi-line) view to standard output."""
    print(safe(text, lines=True), file=stream or sys.stdout)


def err(text: object) -> None:
    """Print one line to standard error."""
    print(safe(text), file=sys.stderr)
