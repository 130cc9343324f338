"""Which way a message goes: small rules in one ordered tuple, read top to bottom like the
policy (STYLE.md §1). Each answers "does this apply?"; the first that does decides."""
from __future__ import annotations

import re
from typing import Callable

from parser import ParsedMessage
from tracker.cases.context import Context
from tracker.incoming.authenticity import ambiguity, authentication_problem
from tracker.stages.rules import within


def _outside_partners(ctx: Context, msg: ParsedMessage) -> bool:
    domains = ctx.partnership.partner_domains
    return bool(domains) and not within(domains, msg.sender)


def _not_authenticated(ctx: Context, msg: ParsedMessage) -> str | None:
    """Why the receiving server's word does not let it act (tracker/incoming/authenticity.py,
    which judges a Head alone: callable before the body is read)."""
    return authentication_problem(ctx.partnership.security, msg.head)


# Web pages a party sends back on a reply (the record the service sends them is one) are
# kept with the message as inert bytes, never rendered or opened; from anyone else, or on
# an intake, they are refused like the other types.
INERT_ON_REPLIES = (".html", ".htm")


def bad_attachment(ctx: Context, msg: ParsedMessage) -> str | None:
    """The name of the first attachment that is too large or of a refused type, or None."""
    sec = ctx.partnership.security
    for name, _ctype, size in msg.attachments:
        lowered = (name or "").lower()
        if size > sec.max_attachment_bytes:
            return name or "(unnamed)"
        if lowered.endswith(sec.refused_attachment_types) and not (msg.kind == "reply" and
                                                                   lowered.endswith(INERT_ON_REPLIES)):
            return name or "(unnamed)"
    return None


def kept_attachments(msg: ParsedMessage) -> tuple[str, ...]:
    """The attachments of a reply kept with it unopened (named on the case's record)."""
    return tuple(name for name, _ctype, _size in msg.attachments if (name or "").lower().endswith(INERT_ON_REPLIES))


def outside_partners(ctx: Context, msg: ParsedMessage) -> bool:
    return _outside_partners(ctx, msg)


RULES: tuple[tuple[str, Callable[[Context, ParsedMessage], bool], str], ...] = (
    ("own_mail", lambda c, m: m.own, "our own mail came back: never answered, to avoid loops"),
    ("bounce", lambda c, m: m.kind == "bounce", "a delivery failure report: never changes a case"),
    ("auto_reply", lambda c, m: m.kind == "auto_reply", "an automatic reply: never changes a case"),
    ("ambiguous_sender", lambda c, m: ambiguity(m.head) is not None,
     "the sender cannot be read as one address (CONTRACT.md §2): nothing moved, never guessed"),
    ("no_sender", lambda c, m: not m.sender, "no readable sender address"),
    ("unauthenticated", lambda c, m: _not_authenticated(c, m) is not None,
     "the receiving server did not confirm the sender (DMARC must pass for the From domain)"),
    ("attachment", lambda c, m: bad_attachment(c, m) is not None,
     "an attachment is too large or of a refused type; it was not opened"),
    ("outside_partners", _outside_partners,
     "sender is outside the partner agencies' domains: not opened, not answered"),
    ("invalid", lambda c, m: m.kind == "invalid", "neither an escalation nor a reply naming a case"),
)


_WHO = r"(?:professional|worker|practitioner|visitor|officer|teacher|nurse|doctor|manager|staff|colleague|his|her|their)"
CONDUCT = re.compile(
    rf"\b{_WHO}(?:'s|s'|s)? (?:conduct|behaviou?r|attitude)\b|\bconduct of (?:a|the|my|our|their)\b"
    r"|\ballegations? (?:against|about)\b|\bwhistle-?blow|\bLADO\b",
    re.IGNORECASE)


def about_conduct(msg: ParsedMessage) -> bool:
    """An intake about a professional's conduct belongs to whistleblowing, not this policy."""
    f = msg.fields
    text = " ".join(x for x in (msg.subject, f and f.decision_disputed, f and f.reasons) if x)
    return bool(CONDUCT.search(text[:5000]))


# Decided from the raw bytes, before the message is read at all.
UNREAD: dict[str, str] = {
    "too_large": "the message is larger than the attachment limit allows; it was not read",
}
REASONS = {**UNREAD, **{name: reason for name, _, reason in RULES}}
INTAKE = "intake"


def before_reading(ctx: Context, raw: bytes) -> str | None:
    """The name of the rule that keeps `raw` unread, or None."""
    return "too_large" if too_large(ctx, raw) else None


def too_large(ctx: Context, raw: bytes) -> bool:
    """Bigger than any honest escalation with its largest allowed attachment (base64 grows 4/3)."""
    return len(raw) > ctx.partnership.security.max_attachment_bytes * 4 // 3 + 2_000_000


def triage(ctx: Context, msg: ParsedMessage) -> str:
    """Which way a message goes, decided in this order: the name of the first rule that
    applies (it is quarantined), else "reply", "conduct", "errors", or INTAKE (it opens a case)."""
    for name, applies, _ in RULES:
        if applies(ctx, msg):
            return name
    if msg.kind == "reply":
        return "reply"
    if about_conduct(msg):
        return "conduct"
    return "errors" if intake_problems(ctx, msg) else INTAKE


# The people an intake names, with the label a worker wrote them under (CONTRACT.md §1).
NAMED = (("raised_by", "Raised by"), ("raiser_manager", "My manager"), ("other_party", "Disagreement with"),
         ("other_manager", "Their manager"))


def intake_problems(ctx: Context, msg: ParsedMessage) -> list[str]:
    """What the sender must fix before the intake can open a case: the parser's errors, and
    any person named at an address outside the partner agencies (the service would send them
    case content)."""
    problems = [e.message for e in msg.errors]
    domains = ctx.partnership.partner_domains
    for field, label in NAMED if domains and msg.fields else ():
        who = getattr(msg.fields, field)
        if who and who.email and not within(domains, who.email):
            problems.append(f"{label}: {who.email} is not an address of a partner agency, and this service "
                            f"writes only to partner agencies ({', '.join(domains)}). Give their work address.")
    return problems
