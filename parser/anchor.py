"""Record heads that left in mail: reading them back (`escalations case REF --verify --against`).

Every mail the service sends about a case carries the case record's head, in the header
RECORD_HEADER and in its footer, as `ESC-2026-0042 #7 3f9a1c0e5b7d2a48` (the reference, how
many entries the record had, the first 16 hex digits of the last one's hash); the weekly
digest lists one per case. A file handed to `--against` is a mail as saved by a mail client
(.eml) or any text holding such lines (a list of heads, the digest saved as text).
"""
from __future__ import annotations

import re

from .html import html_to_text
from .mime import read_mail, safe

RECORD_HEADER = "X-Escalations-Record"
HEAD_RE = re.compile(r"\b(ESC-\d{4}-\d{4,}) #(\d{1,7}) ([0-9a-f]{16})\b")
MAX_BYTES = 20_000_000


def heads_in(raw: bytes) -> list[tuple[str, int, str]]:
    """Every (reference, entries, short hash) in a mail or a text, each once, in order.

    >>> heads_in(b"Subject: x\\nX-Escalations-Record: ESC-2026-0042 #7 3f9a1c0e5b7d2a48\\n\\nhi")
    [('ESC-2026-0042', 7, '3f9a1c0e5b7d2a48')]
    """
    raw = raw[:MAX_BYTES]
    mail = read_mail(raw)
    headers = [" ".join(str(v).split()) for v in safe(lambda: mail.message.get_all(RECORD_HEADER), None) or []]
    text = "\n".join(headers + [mail.plain, html_to_text(mail.html)])
    found = HEAD_RE.findall(text) or HEAD_RE.findall(raw.decode("utf-8", "replace"))  # not a mail: a list
    found = [(ref, int(seq), short) for ref, seq, short in found]
    return list(dict.fromkeys(found))
