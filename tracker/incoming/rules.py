"""Which way a message goes: small rules in one ordered tuple, read top to bottom like the
policy (STYLE.md §1). Each answers "does this apply?"; the first that does decides."""
from __future__ import annotations

import re
from typing import Callable

from parser import Head, ParsedMessage, read_head, refused_attachment
from parser.classify import may_be_bounce
from tracker.cases.context import Context
from tracker.incoming.authenticity import ambiguity, authentication_problem
from tracker.outgoing.outbox import is_own_message_id
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


def bad_attachment(ctx: Context, msg: ParsedMessage) -> tuple[str, str] | None:
    """(name as written, why) of the first attachment that is too large or of a refused type,
    judged by its content type and by its name after NFKC normalisation and trimming
    (parser/attachments.py: "evil.zip.", "evil.exe\\x00.pdf", an unnamed application/zip); or None."""
    sec = ctx.partnership.security
    endings = sec.refused_attachment_types
    if msg.kind == "reply":
        endings = tuple(e for e in endings if e not in INERT_ON_REPLIES)
    for item in msg.attachments:
        shown = item.name or "(unnamed)"
        if item.size > sec.max_attachment_bytes:
            return shown, f"it is larger than {sec.max_attachment_bytes // 1_000_000} MB"
        why = refused_attachment(item, endings)
        if why:
            return shown, why
    return None


def kept_attachments(msg: ParsedMessage) -> tuple[str, ...]:
    """The attachments of a reply kept with it unopened (named on the case's record)."""
    return tuple(a.name for a in msg.attachments if a.normal_name.endswith(INERT_ON_REPLIES))


def outside_partners(ctx: Context, msg: ParsedMessage) -> bool:
    return _outside_partners(ctx, msg)


RULES: tuple[tuple[str, Callable[[Context, ParsedMessage], bool], str], ...] = (
    ("too_costly", lambda c, m: m.too_costly,
     "too costly to read: its parse was stopped past the time budget; not read, not answered"),
    ("own_mail", lambda c, m: m.own, "our own mail came back: never answered, to avoid loops"),
    ("bounce", lambda c, m: m.kind == "bounce", "a delivery failure report: never changes a case"),
    ("auto_reply", lambda c, m: m.kind == "auto_reply", "an automatic reply: never changes a case"),
    ("ambiguous_sender", lambda c, m: ambiguity(m.head) is not None,
     "the sender cannot be read as one address (CONTRACT.md §2): nothing moved, never guessed"),
    ("no_sender", lambda c, m: not m.sender, "no readable sender address"),
    ("outside_partners", _outside_partners,
     "sender is outside the partner agencies' domains: not opened, not answered"),
    ("unauthenticated", lambda c, m: _not_authenticated(c, m) is not None,
     "the receiving server did not confirm the sender (DMARC must pass for the From domain)"),
    ("attachment", lambda c, m: bad_attachment(c, m) is not None,
     "an attachment is too large or of a refused type; it was not opened"),
    # past a size or line cap the parser read only the start (parser/caps.py): a refused
    # attachment or a later paragraph may be in what was left out, so none of it is acted on
    ("cut", lambda c, m: m.cut,
     "too long or too complex to read in full: only its start was read, so none of it was acted on"),
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


# Judged from the header block alone (parser.read_head), before the body is parsed at all:
# mail that goes no further is never parsed and never answered. Extend here (the receiving
# server's authentication verdict belongs with these).
def own_mail(ctx: Context, head: Head) -> bool:
    """Our own mail back, by what no forwarder strips: our marker header, or one of the
    Message-IDs the service makes (tracker/outgoing/outbox.py), or our own address as its
    From or Sender (the mailbox's address, and the inbox's sign-in name where it is one)."""
    p = ctx.partnership
    ours = {p.address.lower()} | ({p.inbox.username.lower()} if "@" in (p.inbox.username or "") else set())
    named = {m.address for m in head.author.mailboxes + head.agent.mailboxes if m.address}
    return head.own_marker or is_own_message_id(head.message_id, p.domain) or bool(named & ours)


def _unclear_sender(ctx: Context, head: Head) -> bool:
    return not head.sender and not may_be_bounce(head)


def _outside_by_head(ctx: Context, head: Head) -> bool:
    domains = ctx.partnership.partner_domains
    return bool(domains) and bool(head.sender) and not within(domains, head.sender) and not may_be_bounce(head)


# A delivery report comes from any domain, often with no readable sender: one that looks like
# one by its headers (parser.classify.may_be_bounce) is read, under the parse budget, and is
# quarantined as a stranger's after all when it is not one (the rules below).
# The sender's authenticity is judged here too, from the receiving server's verdict in the
# header block (tracker/incoming/authenticity.py), so a forged From is never parsed either.
HEAD_RULES: tuple[tuple[str, Callable[[Context, Head], bool]], ...] = (
    ("too_large", lambda c, h: too_large(c, h.size)),
    ("own_mail", own_mail),
    ("ambiguous_sender", lambda c, h: ambiguity(h) is not None and not may_be_bounce(h)),
    ("no_sender", _unclear_sender),
    ("outside_partners", _outside_by_head),
    ("unauthenticated", lambda c, h: not may_be_bounce(h)
     and authentication_problem(c.partnership.security, h) is not None),
)
REASONS = {"too_large": "the message is larger than the attachment limit allows",
           **{name: reason for name, _, reason in RULES}}
INTAKE = "intake"


def judge_head(ctx: Context, head: Head) -> str | None:
    """The name of the first head rule that keeps the message unread, or None (read it)."""
    for name, applies in HEAD_RULES:
        if applies(ctx, head):
            return name
    return None


def head_detail(way: str, head: Head) -> str:
    """What the record of a message kept unread adds to its reason: that it was not read, and
    why its sender is unclear."""
    problems = "; ".join(head.sender_problems)[:500] if way == "no_sender" else ""
    return f"{problems + '; ' if problems else ''}its body was not read"


def before_reading(ctx: Context, raw: bytes) -> str | None:
    """The name of the rule that keeps `raw` unread, or None (judge_head on its header block)."""
    return judge_head(ctx, read_head(raw))


def too_large(ctx: Context, size: int) -> bool:
    """Bigger than any honest escalation with its largest allowed attachment (base64 grows 4/3)."""
    return size > ctx.partnership.security.max_attachment_bytes * 4 // 3 + 2_000_000


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
