"""HTML-only mail to text, keeping a form pasted as a table one row per line.

inscriptis is used because it lays table rows out on one line ("Label:   value"), which is
how Outlook users paste the escalation form. It costs ~0.1-1 ms a message, so it only runs
when a message has no text/plain part, and on at most MAX_HTML_CHARS.
"""
from __future__ import annotations

import html as html_lib
import re

from inscriptis import get_text

MAX_HTML_CHARS = 300_000

# Where quoted history starts in the HTML each client writes (used for replies only).
# A tag's attributes are matched as [^<>]*, never [^>]*: a tag left open ("<div <div <div …",
# no ">") would otherwise be scanned to the end of the text from every "<div", which took
# longer than 120 s on 400 KB. Stopping at the next "<" scans each character once.
_QUOTE_START_RE = re.compile(
    r"""<div[^<>]*\bid=["']?(?:divRplyFwdMsg|appendonsend|mail-editor-reference-message-container)\b"""
    r"""|<div[^<>]*\bclass=["']?gmail_quote\b"""
    r"""|<blockquote[^<>]*\btype=["']?cite\b"""
    r"""|<div[^<>]*\bclass=["']?(?:yahoo_quoted|OutlookMessageHeader)\b"""
    r"""|<hr[^<>]*\bid=["']?stopSpelling\b""",
    re.IGNORECASE,
)
_BLOCK_RE = re.compile(r"<\s*(?:br|/p|/div|/tr|/li|/h\d|/table|/blockquote)\b[^<>]*>", re.IGNORECASE)
_CELL_RE = re.compile(r"<\s*/t[dh]\s*>", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^<>]*>")


def cut_quoted_html(html: str) -> str:
    """The part of a reply's HTML above the quoted history."""
    match = _QUOTE_START_RE.search(html)
    return html[: match.start()] if match else html


def html_to_text(html: str) -> str:
    """Readable text; table cells of one row joined on one line."""
    html = html[:MAX_HTML_CHARS]
    if not html.strip():
        return ""
    try:
        text = get_text(html)
    except Exception:  # inscriptis/lxml refuse some garbage: fall back to tag stripping
        text = _strip_tags(html)
    lines = (line.strip() for line in text.replace("\xa0", " ").splitlines())
    return "\n".join(lines)


def _strip_tags(html: str) -> str:
    html = _CELL_RE.sub("\t", _BLOCK_RE.sub("\n", html))
    return html_lib.unescape(_TAG_RE.sub("", html))
