"""Address headers read as RFC 5322 says, from the *undecoded* value; never decoded into.

The address is the addr-spec of the parsed structure. Only a display name is decoded
(RFC 2047), and then it is only ever a name: `=?utf-8?q?Sam_=3Csam=40health.example.test=3E?=
<attacker@evil.example>` is attacker@evil.example, and ambiguous because its name, decoded,
looks like an address. Anything a reader could take two ways (several addresses, a route,
a quoted local part, a comment or a name holding another address) is a *problem*, with a
reason; the caller never gets a guess.

The tokenizer is written here, not taken from email.headerregistry: that parser is far
slower (~1 ms a header) and has had super-linear bugs on hostile input; this one reads
each character once and stops at MAX_FIELD_CHARS.
"""
from __future__ import annotations

import email.header
import re
from dataclasses import dataclass

from .clean import clean_line
from .emails import check_email

MAX_FIELD_CHARS = 2_000
MAX_MAILBOXES = 50
_ADDRESS_IN_TEXT_RE = re.compile(r"(?<![^\s<>()\"',;:])[^\s<>()\"',;:]+@[^\s<>()\"',;:]+")  # token starts only


@dataclass(frozen=True, slots=True)
class Mailbox:
    """One mailbox of an address header: the address (lower-case), and a name that is only a name."""

    address: str | None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class AddressField:
    """One address header, read. `address` is set only when there is exactly one mailbox and
    no problem: it is the one value a caller may act on.

    >>> read_address_field(["Sam Carter <Sam.Carter@health.example.test>"]).address
    'sam.carter@health.example.test'
    >>> read_address_field(["a@x.example.test, b@y.example.test"]).problems
    ('it names 2 addresses',)
    """

    mailboxes: tuple[Mailbox, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def address(self) -> str | None:
        return self.mailboxes[0].address if len(self.mailboxes) == 1 and not self.problems else None

    @property
    def name(self) -> str | None:
        return self.mailboxes[0].name if len(self.mailboxes) == 1 else None


def read_address_field(values: list[str]) -> AddressField:
    """Read the values of one address header (all its occurrences, raw)."""
    if not values:
        return AddressField()
    problems: list[str] = []
    if len(values) > 1:
        problems.append(f"the header appears {len(values)} times")
    value = values[0]
    if len(value) > MAX_FIELD_CHARS:
        return AddressField((), (f"longer than {MAX_FIELD_CHARS} characters",))
    mailboxes: list[Mailbox] = []
    for element in _split_list(_tokens(value), problems)[:MAX_MAILBOXES]:
        mailboxes.append(_mailbox(element, problems))
    if len(mailboxes) > 1:
        problems.append(f"it names {len(mailboxes)} addresses")
    if not mailboxes:
        problems.append("it names no address")
    return AddressField(tuple(mailboxes), tuple(dict.fromkeys(problems)))


# --- tokens: (kind, text) with kind one of: atom, quoted, comment, angle, special, space ----------

def _tokens(value: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    i, n = 0, len(value)
    while i < n:
        c = value[i]
        if c in " \t\r\n":
            j = i
            while j < n and value[j] in " \t\r\n":
                j += 1
            out.append(("space", " "))
        elif c == '"':
            j, text = _quoted(value, i)
            out.append(("quoted", text))
        elif c == "(":
            j, text = _comment(value, i)
            out.append(("comment", text))
        elif c == "<":
            j = value.find(">", i)
            j = n if j < 0 else j + 1
            out.append(("angle", value[i + 1: j - 1] if value[j - 1: j] == ">" else value[i + 1:]))
        elif c in ",:;@.[]>":
            j = i + 1
            out.append(("special", c))
        else:
            j = i
            while j < n and value[j] not in ' \t\r\n"(<,:;@.[]>':
                j += 1
            out.append(("atom", value[i:j]))
        i = j
    return out


def _quoted(value: str, start: int) -> tuple[int, str]:
    """(end, content) of the quoted string opening at `start`; backslash escapes one character."""
    parts, i, n = [], start + 1, len(value)
    while i < n and value[i] != '"':
        if value[i] == "\\" and i + 1 < n:
            i += 1
        parts.append(value[i])
        i += 1
    return i + 1, "".join(parts)


def _comment(value: str, start: int) -> tuple[int, str]:
    """(end, content) of the comment opening at `start`; comments nest."""
    depth, parts, i, n = 0, [], start, len(value)
    while i < n:
        c = value[i]
        if c == "\\" and i + 1 < n:
            parts.append(value[i + 1])
            i += 2
            continue
        depth += (c == "(") - (c == ")")
        if depth == 0:
            return i + 1, "".join(parts[1:])
        parts.append(c)
        i += 1
    return n, "".join(parts[1:])


def _split_list(tokens: list[tuple[str, str]], problems: list[str]) -> list[list[tuple[str, str]]]:
    """Mailbox elements, split at top-level commas; group syntax is a problem."""
    elements: list[list[tuple[str, str]]] = [[]]
    for kind, text in tokens:
        if kind == "special" and text in ",;":
            elements.append([])
        elif kind == "special" and text == ":":
            problems.append("a group of addresses")
            elements.append([])
        else:
            elements[-1].append((kind, text))
    return [e for e in elements if any(k not in ("space", "comment") for k, _ in e)
            or any(k == "comment" and "@" in t for k, t in e)]


# --- one mailbox ---------------------------------------------------------------------------

def _mailbox(element: list[tuple[str, str]], problems: list[str]) -> Mailbox:
    comments = [t for k, t in element if k == "comment"]
    if any("@" in c for c in comments):
        problems.append("a comment in it holds an address")
    angles = [t for k, t in element if k == "angle"]
    if len(angles) > 1:
        problems.append("one mailbox has several <addresses>")
    if angles:
        before = element[: [k for k, _ in element].index("angle")]
        name = _display_name(before, problems)
        spec = angles[0].strip()
        if spec.startswith("@"):
            problems.append("a route address (<@relay:user@domain>)")
            return Mailbox(None, name)
        address = _addr_spec(_tokens(spec), problems)
    else:
        name = clean_line(" ".join(comments)) or None
        address = _addr_spec([t for t in element if t[0] != "comment"], problems)
    if address and name:
        _check_name(name, address, problems)
    return Mailbox(address, name)


def _addr_spec(tokens: list[tuple[str, str]], problems: list[str]) -> str | None:
    kinds = [k for k, _ in tokens if k not in ("space", "comment")]
    if "quoted" in kinds:
        problems.append("a quoted local part")
        return None
    if "angle" in kinds or kinds.count("special") != sum(1 for k, t in tokens if k == "special" and t in "@."):
        problems.append("not a plain address")
        return None
    if any(k == "comment" for k, _ in tokens):
        problems.append("a comment inside the address")
    spec = "".join(t for k, t in tokens if k in ("atom", "special"))
    if spec.count("@") != 1:
        problems.append("no readable address" if "@" not in spec else "not a plain address")
        return None
    if "=?" in spec:
        problems.append("an encoded word inside the address")
        return None
    address, why = check_email(spec)
    if address is None:
        problems.append(why or "not a valid address")
    return address


def _display_name(tokens: list[tuple[str, str]], problems: list[str]) -> str | None:
    """The phrase before <...>: encoded words decoded, then checked for what it must not hold."""
    words = [t if k != "quoted" else _requote(t) for k, t in tokens if k in ("atom", "quoted", "special", "space")]
    raw = "".join(words).strip()
    if not raw:
        return None
    decoded = _decode_words(raw)
    if decoded != raw.replace('"', "") and ("<" in decoded or "@" in decoded):
        problems.append("its display name, decoded, looks like an address")
    return clean_line(decoded) or None


def _requote(text: str) -> str:
    # a quoted string is a name, not encoded words (RFC 2047 §5): keep it from being decoded
    return '"' + text + '"'


def _decode_words(raw: str) -> str:
    try:
        parts = email.header.decode_header(raw)
        return "".join(p if isinstance(p, str) else p.decode(c or "utf-8", "replace") for p, c in parts).replace('"', "")
    except Exception:
        return raw.replace('"', "")


def _check_name(name: str, address: str, problems: list[str]) -> None:
    """A name that names another address is a disguise (Outlook writes the address itself as
    the name when there is none, which is fine)."""
    others = [a for a in _ADDRESS_IN_TEXT_RE.findall(name) if a.strip(".").lower() != address]
    if others:
        problems.append("its display name names another address")
