"""An escalation form attached as .docx -> text lines the label reader understands.

The zip is inspected before python-docx opens it, so a zip bomb is refused unread.
Table rows become one line, cells joined by a tab ("Case reference<TAB>LCS-1").
"""
from __future__ import annotations

import io
import zipfile

MAX_ENTRIES = 300
MAX_UNCOMPRESSED = 15_000_000
MAX_ENTRY = 8_000_000
MAX_LINES = 2_000


def docx_text(data: bytes) -> str:
    """The form's text, or "" when the file is unreadable or too big."""
    try:
        if not _safe_zip(data):
            return ""
        import docx  # imported lazily: only messages with a .docx pay for it

        document = docx.Document(io.BytesIO(data))
        return "\n".join(_lines(document)[:MAX_LINES])
    except Exception:  # corrupt or hostile files give no text, never an exception
        return ""


def _safe_zip(data: bytes) -> bool:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES:
            return False
        if any(i.file_size > MAX_ENTRY for i in infos):
            return False
        return sum(i.file_size for i in infos) <= MAX_UNCOMPRESSED


def _lines(document) -> list[str]:
    lines: list[str] = []
    for block in document.iter_inner_content():
        if hasattr(block, "rows"):
            lines.extend(_table_lines(block))
        else:
            lines.append(block.text)
    return lines


def _table_lines(table) -> list[str]:
    lines = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # merged cells repeat
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(cell.text.split()))
        lines.append("\t".join(cells))
    return lines
