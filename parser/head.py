"""The header block alone, read before any body is touched: who sent it, what the receiving
server said of them, and what kind of mail it is.

`read_head(raw)` is cheap and bounded (it reads at most MAX_HEAD_BYTES and MAX_FIELDS
fields, each character once), so a service can judge a sender's address, domain and
authentication and quarantine mail from outside the partner domains without parsing the
rest. `parse_message` reads the same Head for every message.
"""
from __future__ import annotations

import codecs
import datetime
import email.header
import email.utils
import re
from dataclasses import dataclass

from .addresses import AddressField, read_address_field
from .clean import CONTROL_RE, NUL_MARK, clean_line

MAX_HEAD_BYTES = 512_000  # Exchange Online writes ~15-40 KB of headers; a hostile head is cut here
MAX_FIELDS = 1_000
MAX_IDS = 100
MAX_SUBJECT_CHARS = 10_000  # of the raw value: decode_header is slow on hundreds of KB of encoded words
_END_RE = re.compile(rb"\r?\n\r?\n")
_FIELD_RE = re.compile(r"^([\x21-\x39\x3b-\x7e]{1,100}):[ \t]*(.*)$", re.DOTALL)
_MSGID_RE = re.compile(r"<([^<>\s]{1,500})>")
_AUTO_RE = re.compile(r"^\s*(?:automatic reply|auto[- ]?reply|autoreply|auto[- ]?response|out of (?:the )?office|"
                      r"ooo\b|abwesenheitsnotiz|réponse automatique)", re.IGNORECASE)
_LIST_HEADERS = ("list-id", "list-post", "list-unsubscribe", "list-help", "mailing-list", "x-mailing-list")


@dataclass(frozen=True, slots=True)
class Head:
    """What the header block says. Addresses are read as parsed structures (parser/addresses.py).

    `sender` is the one address the message may be taken as sent by: the From address when
    it is unambiguous and no Sender header names another; otherwise None, and
    `sender_problems` says why (the tracker quarantines it as ambiguous). A Sender header
    naming another address is exposed as `agent` beside `author`: the tracker quarantines
    such a message as ambiguous (DMARC vouches for the From domain, not the Sender's) and
    may ask the From address to send from its own (tracker/incoming/authenticity.py).

    >>> h = read_head(b"From: Sam <sam@health.example.test>\\r\\nSubject: hi\\r\\n\\r\\nbody")
    >>> h.sender, h.sender_name, h.sender_problems
    ('sam@health.example.test', 'Sam', ())
    """

    size: int
    author: AddressField
    agent: AddressField
    reply_to_field: AddressField
    sender: str | None
    sender_name: str | None
    sender_problems: tuple[str, ...]
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    date: datetime.datetime | None
    auth_results: tuple[str, ...]  # Authentication-Results values, topmost (newest) first
    arc_auth_results: tuple[str, ...]  # ARC-Authentication-Results values, topmost first
    auto_submitted: str  # the Auto-Submitted keyword, lower-case ("" when absent)
    precedence: str  # lower-case ("" when absent)
    via_list: bool  # List-Id and kin, or Precedence: list: came through a list or group
    auto_marked: bool  # an automatic reply by its headers or subject (never via_list alone)
    own_marker: bool  # carries our marker header (never the only loop check: it can be stripped)
    content_type: str
    report_type: str
    # every field read, (lower-case name, unfolded value, control characters removed), in order:
    # for the parser's own readers (bounces, authentication); the tracker reads the named values
    fields: tuple[tuple[str, str], ...]

    @property
    def reply_to(self) -> str | None:
        return self.reply_to_field.address

    @property
    def reference_domains(self) -> frozenset[str]:
        """Domains of the Message-IDs this message answers (In-Reply-To, References), lower-case.
        For loop detection that does not trust our marker header (which can be stripped):
        mail answering one of our Message-IDs, from our own address, is our own mail back.

        >>> read_head(b"In-Reply-To: <ESC-2026-0042.notice.ab@Partnership.example.test>\\n\\n").reference_domains
        frozenset({'partnership.example.test'})
        """
        return frozenset(i.rpartition("@")[2].lower() for i in self.in_reply_to + self.references if "@" in i)

    @property
    def return_path(self) -> str | None:
        """The envelope sender the delivering server recorded: "" for the null sender (<>) of
        bounces and many automatic replies; None when there is no Return-Path header."""
        values = self.values("return-path")
        return values[0].strip().strip("<>").strip().lower() if values else None

    def values(self, name: str) -> list[str]:
        """Raw values of header `name` (any case), topmost first."""
        name = name.lower()
        return [v for n, v in self.fields if n == name]

    def first(self, name: str) -> str:
        found = self.values(name)
        return found[0] if found else ""


def head_fields(raw: bytes) -> list[tuple[str, str]]:
    """(lower-case name, unfolded value) for each field of the header block, in order; the
    value's control characters removed (read_head makes an address field holding one
    unreadable, not shorter). Reading stops at the blank line, at the first line that is not
    a field (as the email package does), at MAX_FIELDS, or at MAX_HEAD_BYTES."""
    return [(name, clean_line(value)) for name, value in _raw_fields(raw)]


def _raw_fields(raw: bytes) -> list[tuple[str, str]]:
    block = raw[:MAX_HEAD_BYTES]
    end = _END_RE.search(block)
    text = (block[: end.start()] if end else block).decode("utf-8", "surrogateescape")
    fields: list[tuple[str, list[str]]] = []
    for i, line in enumerate(text.replace("\r\n", "\n").split("\n")):
        if line[:1] in (" ", "\t") and fields:
            fields[-1][1].append(line)
        elif i == 0 and line.startswith("From "):
            continue  # an mbox separator line
        elif (m := _FIELD_RE.match(line)) and len(fields) < MAX_FIELDS:
            fields.append((m.group(1).lower(), [m.group(2)]))
        else:
            break
    return [(name, _unsurrogate(" ".join(p.strip() for p in parts))) for name, parts in fields]


def read_head(raw: bytes) -> Head:
    """The Head of `raw`; never raises."""
    raw = bytes(raw) if isinstance(raw, (bytes, bytearray, memoryview)) else str(raw).encode("utf-8", "replace")
    raw_fields = _raw_fields(raw)
    fields = tuple((name, clean_line(value)) for name, value in raw_fields)
    get = lambda name: [v for n, v in fields if n == name]  # noqa: E731
    author, agent = _address("from", raw_fields, get), _address("sender", raw_fields, get)
    sender, problems = _sender(author, agent)
    subject = decode_words(get("subject")[0][:MAX_SUBJECT_CHARS])[:1000] if get("subject") else ""
    ctype, params = _content_type(get("content-type"))
    auto = (get("auto-submitted") or [""])[0].split(";")[0].strip().lower()
    precedence = (get("precedence") or [""])[0].strip().lower()
    ids = message_ids((get("message-id") or [""])[0])
    return Head(
        size=len(raw), author=author, agent=agent, reply_to_field=read_address_field(get("reply-to")),
        sender=sender, sender_name=author.name, sender_problems=problems,
        message_id=ids[0] if ids else None,
        in_reply_to=message_ids(" ".join(get("in-reply-to"))), references=message_ids(" ".join(get("references"))),
        subject=subject, date=parse_date((get("date") or [""])[0]),
        auth_results=tuple(get("authentication-results")), arc_auth_results=tuple(get("arc-authentication-results")),
        auto_submitted=auto, precedence=precedence,
        via_list=precedence == "list" or any(get(h) for h in _LIST_HEADERS),
        auto_marked=_auto_marked(auto, precedence, subject, fields),
        own_marker=any(n == "x-escalations-service" for n, _ in fields),
        content_type=ctype, report_type=params.get("report-type", "").lower(), fields=fields,
    )


def _address(name: str, raw_fields: list[tuple[str, str]], get) -> AddressField:
    """An address field, read. Control characters in a display name are only dropped (it is
    only a name); one inside an address (a NUL ends it for C code, and dropping it would join
    what was apart) is a problem, never a guess: the field is read again with each control
    character kept as U+FFFD, and must name the same addresses."""
    field = read_address_field(get(name))
    values = [v for n, v in raw_fields if n == name]
    if not any(CONTROL_RE.search(v) for v in values):
        return field
    marked = read_address_field([clean_line(CONTROL_RE.sub(NUL_MARK, v)) for v in values])
    if [m.address for m in marked.mailboxes] != [m.address for m in field.mailboxes] or marked.problems:
        return AddressField(field.mailboxes, field.problems + ("a control character is inside its address",))
    return field


def _sender(author: AddressField, agent: AddressField) -> tuple[str | None, tuple[str, ...]]:
    problems = [f"From: {p}" for p in author.problems]
    if not author.mailboxes and not author.problems:
        problems.append("no From header")
    if agent.mailboxes or agent.problems:
        problems += [f"Sender: {p}" for p in agent.problems]
        if agent.address and author.address and agent.address != author.address:
            problems.append(f"a Sender header names another address ({agent.address}) than From")
    return (author.address if not problems else None), tuple(problems)


def _auto_marked(auto: str, precedence: str, subject: str, fields) -> bool:
    if auto and auto != "no":
        return True
    if precedence in ("bulk", "junk", "auto_reply"):
        return True
    if any(n in ("x-autoreply", "x-autorespond", "x-auto-response-suppress-reply") for n, _ in fields):
        return True
    return bool(_AUTO_RE.match(subject))


def _content_type(values: list[str]) -> tuple[str, dict[str, str]]:
    if not values:
        return "text/plain", {}
    main, *rest = values[0][:2000].split(";")
    params = {}
    for item in rest:
        key, _, val = item.partition("=")
        params[key.strip().lower()] = val.strip().strip('"')
    return main.strip().lower() or "text/plain", params


def decode_words(value: str) -> str:
    """A header's text with RFC 2047 encoded words decoded, as one clean line (for subjects
    and names only: never for an address)."""
    try:
        parts = email.header.decode_header(value)
        text = "".join(p if isinstance(p, str) else p.decode(_charset(c), "replace") for p, c in parts)
    except Exception:
        text = value
    return clean_line(text)


def _charset(name: str | None) -> str:
    try:
        return codecs.lookup(name or "utf-8").name
    except (LookupError, ValueError):
        return "utf-8"


def _unsurrogate(value: str) -> str:
    """Raw 8-bit header bytes: UTF-8 if they are, else Windows-1252 (what such mail means)."""
    if value.isascii():
        return value
    data = value.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def message_ids(value: str) -> tuple[str, ...]:
    """'<a@b> <c@d>' -> ('a@b', 'c@d'); bare ids are accepted too."""
    found = _MSGID_RE.findall(value[:100_000])
    if not found:
        found = [v for v in value[:100_000].split() if "@" in v][:MAX_IDS]
    return tuple(clean_line(f) for f in found[:MAX_IDS])


def parse_date(value: str) -> datetime.datetime | None:
    try:
        when = email.utils.parsedate_to_datetime(value[:200]) if value else None
    except Exception:
        return None
    if when is None:
        return None
    return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)
