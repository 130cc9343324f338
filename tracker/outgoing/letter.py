"""The letter: one mail the service has decided to send, before it is composed."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Letter:
    """One mail the service has decided to send: its kind, recipient and template values."""

    kind: str
    to: str
    values: dict
    in_reply_to: str | None = None
    auto: str = "auto-generated"
    attachments: tuple = ()


@dataclass(frozen=True)
class Later:
    """An attachment made when the mail is composed, by `tracker.outgoing.documents.MAKERS[maker]`,
    from plain values fixed at enqueue (a calendar entry costs more to make than the rest
    of a case change: a backlog should not wait for it)."""

    maker: str
    args: dict
