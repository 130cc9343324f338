"""What every value the parser returns passes through at the edge: no control characters.

A NUL or an escape sequence in a statement, a name or a subject would reach the database,
terminals (`escalations case`) and mail; they are stripped here, once. Tabs and newlines
stay where a value may hold lines.
"""
from __future__ import annotations

import re
import unicodedata

# C0 and C1 controls and DEL; also the bidirectional overrides and isolates, which can make a
# name or file name read differently from what it is ("evil\u202efdp.exe").
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: A control character in a one-line value (a header's), tabs aside (folding leaves them).
CONTROL_RE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean_text(value: str | None) -> str:
    """`value` with control characters removed; tabs and newlines kept.

    >>> clean_text("RESOLVED\\x00 agreed\\x1b[31m")
    'RESOLVED agreed[31m'
    """
    return _CONTROL_RE.sub("", value or "")


def clean_line(value: str | None) -> str:
    """One line: control characters (tabs and newlines too) become nothing or a space."""
    return " ".join(_LINE_CONTROL_RE.sub(" ", value or "").split())


#: Stands for a NUL in a file name: the name keeps the information, not the control character.
NUL_MARK = "\ufffd"


def normal_filename(name: str | None) -> str:
    """An attachment's name as a file system would end up showing it: NFKC-normalised
    (fullwidth "ｅｘｅ" is "exe"), cut at a NUL as C code cuts it ("evil.exe\\x00.pdf" is
    "evil.exe"), control characters removed, and the dots and spaces Windows drops from a
    name's end trimmed ("evil.zip." is "evil.zip"), lower-case.

    >>> normal_filename("evil.exe\\x00.pdf"), normal_filename(" Evil.ZIP. . ")
    ('evil.exe', 'evil.zip')
    """
    text = unicodedata.normalize("NFKC", (name or "").replace("\x00", NUL_MARK))
    text = _LINE_CONTROL_RE.sub("", text.split(NUL_MARK, 1)[0])
    return text.strip(" .\t").lower()
