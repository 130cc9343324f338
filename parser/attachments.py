"""Attachments as the parser saw them, and the judgement of their type by name AND content type.

A name is judged after NFKC normalisation and trimming what Windows drops ("evil.zip." and
"ｅｖｉｌ.ｅｘｅ" are refused), and in each reading a program could give it: "evil.exe\\x00.pdf"
is "evil.exe" to C code and "evil.exe.pdf" once the NUL is dropped, and refused as either.
A part with no name is judged by its content type alone (an unnamed application/zip is an
archive). Which endings are refused is the deployment's list; the content types that mean
the same things are below.
"""
from __future__ import annotations

from typing import NamedTuple

from .clean import NUL_MARK, clean_line, normal_filename

#: Content types of executables, scripts, archives and macro documents.
REFUSED_CONTENT_TYPES = frozenset({
    "application/zip", "application/x-zip", "application/x-zip-compressed", "application/x-7z-compressed",
    "application/x-rar", "application/x-rar-compressed", "application/vnd.rar", "application/gzip",
    "application/x-gzip", "application/x-tar", "application/x-iso9660-image", "application/java-archive",
    "application/x-msdownload", "application/x-msdos-program", "application/x-dosexec", "application/x-executable",
    "application/vnd.microsoft.portable-executable", "application/x-ms-installer", "application/x-msi",
    "application/hta", "application/x-sh", "application/x-bat", "application/javascript", "text/javascript",
    "application/x-javascript", "text/vbscript", "application/x-powershell",
    "application/vnd.ms-word.document.macroenabled.12", "application/vnd.ms-excel.sheet.macroenabled.12",
    "application/vnd.ms-powerpoint.presentation.macroenabled.12",
})


class Attachment(NamedTuple):
    """One attached part: its name as written (clean, for showing), its content type and its
    decoded size in bytes (estimated from the encoded size when it was not decoded)."""

    name: str
    content_type: str
    size: int

    @property
    def normal_name(self) -> str:
        """The name as it would end up on disk, lower-case (see parser/clean.py)."""
        return normal_filename(self.name)


def attachment(name: str | None, content_type: str, size: int) -> Attachment:
    """An Attachment with a name fit to return: control characters removed, a NUL kept as
    NUL_MARK so the name can still be judged as C code would read it."""
    shown = clean_line((name or "").replace("\x00", NUL_MARK))[:200]
    return Attachment(shown, (content_type or "").lower()[:100], max(0, size))


def refused_attachment(item: Attachment, refused_endings: tuple[str, ...],
                       refused_types: frozenset[str] = REFUSED_CONTENT_TYPES) -> str | None:
    """Why `item` is refused, or None. `refused_endings` like (".exe", ".zip"), lower-case.

    >>> refused_attachment(Attachment("evil.zip.", "application/octet-stream", 10), (".zip",))
    "its name ends in '.zip' ('evil.zip.')"
    >>> refused_attachment(Attachment("", "application/zip", 10), (".zip",))
    "its content type is 'application/zip'"
    """
    for name in _readings(item.name):
        ending = next((e for e in refused_endings if name.endswith(e)), None)
        if ending:
            return f"its name ends in {ending!r} ({clean_line(item.name)!r})"
    if item.content_type in refused_types:
        return f"its content type is {item.content_type!r}"
    return None


def _readings(name: str) -> set[str]:
    """Every name a program might make of `name`."""
    name = name.replace("\x00", NUL_MARK)
    return {normal_filename(name), normal_filename(name.replace(NUL_MARK, ""))}
