"""Is there one sender, and is the sender who they claim? Both judged from the header block
alone (parser.head.Head), so a caller may ask before the body is read; and what a refused
sender is told.

Authentication is the receiving server's word (parser/authres.py `judge`, settings from
`[security] receiving_server`, tracker/config/security.py): DMARC must pass, aligned with
the From domain, in the topmost result the trusted receiver wrote. With the key left out
nothing can be confirmed, so nothing acts; "none" believes any From (a demo or test rig).

What a refused sender is told, and why:
- a message whose From the receiving server did not confirm: its From address, if at a
  partner agency, gets one short note a day saying a message giving their address could not
  be confirmed and was not acted on. The note carries nothing of the message (not even its
  subject: an attacker's words must not reach a worker under the partnership's name), so a
  forger gains at most one mail a day per partner address, and a worker whose real mail
  fails DMARC (sent through another system, forwarded) learns why nothing happened.
  Nobody is told while no receiving server is configured: that is the service's own fault,
  said by `escalations check` and the quarantine reason.
- a message sent on someone's behalf (a Sender header other than From) that the receiving
  server confirmed for the From domain: the From address, at a partner agency, is asked
  (once a day) to send from the party's own address. Every other ambiguous sender (two From
  headers, a From list, a route address, a quoted local part, a comment or display name
  holding another address) names no one address to answer: nobody is told.
"""
from __future__ import annotations

import re

from sqlmodel import Session

from parser.authres import judge, parse_results, trusted_results
from parser.head import Head, read_head
from tracker.cases.context import Context
from tracker.cases.post import post
from tracker.config.security import trust_settings
from tracker.config.values import SecurityConfig
from tracker.outgoing.letter import Letter
from tracker.stages.rules import within

NOT_SET = ("no receiving server is configured (security.receiving_server), so no sender can be confirmed; "
           "nothing was acted on")
LETTER = "sender_not_confirmed"
_ADDRESS_IN_PARENS = re.compile(r" \([^()]*@[^()]*\)")


def startup_warning(sec: SecurityConfig) -> str | None:
    """What the daemon logs at every start where no sender is checked, or none can be."""
    if sec.receiving_server == "none":
        return ('SECURITY: senders are NOT authenticated (security.receiving_server = "none"): any From is believed; '
                "for a local demo or a test rig only")
    if not sec.receiving_server:
        return ("SECURITY: security.receiving_server is not set: no sender can be confirmed, so no message will open "
                "or move a case (each is quarantined); `escalations check` says what to set")
    return None


def authentication_problem(sec: SecurityConfig, head: Head | None) -> str | None:
    """Why the receiving server's word does not let this message act, or None if it does.

    >>> from parser.head import read_head
    >>> h = read_head(b"From: a@council.example.test\\r\\n\\r\\n")
    >>> authentication_problem(SecurityConfig(receiving_server="none"), h) is None
    True
    >>> authentication_problem(SecurityConfig(), h) == NOT_SET
    True
    """
    if sec.receiving_server == "none":
        return None
    trust = trust_settings(sec)
    if trust is None:
        return NOT_SET
    verdict = judge(head, trust)
    return None if verdict.passed else verdict.reason


def verdicts_in(sec: SecurityConfig, raws: list[bytes]) -> tuple[int, list[str]]:
    """Of these messages (header blocks), how many carry the trusted receiver's verdict; and
    who wrote the topmost Authentication-Results of those that do not ("nobody": none)."""
    trust = trust_settings(sec)
    carried, others = 0, []
    for head in map(read_head, raws):
        if trust is not None and trusted_results(head, trust) is not None:
            carried += 1
        else:
            first = parse_results(head.auth_results[0]) if head.auth_results else None
            others.append("nobody" if first is None else first.authserv_id or "a server writing no authserv-id")
    return carried, others


def ambiguity(head: Head | None) -> str | None:
    """Why the header block names its sender more than one way (addresses left out of the
    reason, which is logged), or None. A message with no From at all is not ambiguous."""
    if head is None or head.sender:
        return None
    problems = [_ADDRESS_IN_PARENS.sub("", p) for p in head.sender_problems if p != "no From header"]
    return "; ".join(problems) or None


def on_behalf(head: Head | None) -> bool:
    """One clean From, and a Sender header naming another single address (a delegate)."""
    return bool(head and head.author.address and head.agent.address and head.agent.address != head.author.address)


def tell_sender(session: Session, ctx: Context, head: Head | None, way: str) -> bool:
    """The note (see above) to the From address, once a day; True if one was queued. Takes
    the Head alone, so a caller judging before the body is read can tell as well."""
    p = ctx.partnership
    to = head.author.address if head else None
    if not to or head.via_list or (p.partner_domains and not within(p.partner_domains, to)):
        return False
    if way == "unauthenticated" and trust_settings(p.security) is None:
        return False
    if way == "ambiguous_sender" and not (on_behalf(head) and authentication_problem(p.security, head) is None):
        return False
    day = p.calendar.local(ctx.now).date().isoformat()
    values = {"partnership": p.name, "address": p.address, "ref": None, "way": way,
              "delegate": head.agent.address if way == "ambiguous_sender" else None}
    letter = Letter(LETTER, to, values, in_reply_to=head.message_id if way == "ambiguous_sender" else None,
                    auto="auto-replied")
    return bool(post(session, ctx, None, f"{way}{day}", [letter], []))  # the key: once a day, each way
