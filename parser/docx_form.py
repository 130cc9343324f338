"""An escalation form attached as .docx -> text lines the label reader understands.

The zip is inspected before anything is inflated, so a zip bomb is refused unread, and only
word/document.xml is read (at most MAX_ENTRY bytes, whatever the zip claims). Its XML is
walked once with lxml, not through python-docx's table API: `_Row.cells` looks each
vertically merged cell up from the rows above, cubic in the rows of a table (a 30 KB form
with one large merged table took 29 s). Entities are never expanded (no "billion laughs").
Table rows become one line, cells joined by a tab ("Case reference<TAB>LCS-1").
"""
from __future__ import annotations

import io
import zipfile

from lxml import etree

MAX_ENTRIES = 300
MAX_UNCOMPRESSED = 15_000_000
MAX_ENTRY = 8_000_000
MAX_LINES = 2_000
MAX_CHARS = 400_000  # the text kept, as for a text/plain body
DOCUMENT = "word/document.xml"

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


def docx_text(data: bytes) -> str:
    """The form's text, or "" when the file is unreadable or too big."""
    try:
        xml = _document_xml(data)
        if xml is None:
            return ""
        body = etree.fromstring(xml, _PARSER).find(f"{_W}body")
        return "" if body is None else "\n".join(_lines(body))[:MAX_CHARS]
    except Exception:  # corrupt or hostile files give no text, never an exception
        return ""


def _document_xml(data: bytes) -> bytes | None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES or any(i.file_size > MAX_ENTRY for i in infos):
            return None
        if sum(i.file_size for i in infos) > MAX_UNCOMPRESSED:
            return None
        with archive.open(DOCUMENT) as member:
            xml = member.read(MAX_ENTRY + 1)
    return None if len(xml) > MAX_ENTRY else xml


def _lines(body) -> list[str]:
    """A line per paragraph, a line per table row; at most MAX_LINES."""
    lines: list[str] = []
    for block in body:
        if len(lines) >= MAX_LINES:
            break
        if block.tag == f"{_W}p":
            lines.append(_text(block))
        elif block.tag == f"{_W}tbl":
            for tr in block.iterchildren(f"{_W}tr"):
                if len(lines) >= MAX_LINES:
                    break
                lines.append(_row(tr))
    return lines[:MAX_LINES]


def _row(tr) -> str:
    """Cells of one row joined by tabs. A merged cell is one <w:tc>, so it comes once; a
    cell continuing a vertical merge is empty."""
    return "\t".join(" ".join(_text(tc).split()) for tc in tr.iterchildren(f"{_W}tc"))


def _text(element) -> str:
    parts: list[str] = []
    for node in element.iter(f"{_W}t", f"{_W}tab", f"{_W}br", f"{_W}cr", f"{_W}p"):
        if node.tag == f"{_W}t":
            parts.append(node.text or "")
        elif node.tag == f"{_W}tab":
            parts.append("\t")
        elif node is not element:
            parts.append("\n")  # a line break, or a paragraph inside a table cell
    return "".join(parts)
