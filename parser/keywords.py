"""What business support's ROUTE and CORRECT say (CONTRACT.md §2), read from the statement
`parse_message` returns for them. Text only: who may send them is the tracker's to decide."""
from __future__ import annotations

import re

from .model import Person
from .people import check_email, parse_person

MAX_ROUTED = 20  # people in one ROUTE: more is a pasted list, not a routing

_ARROW_RE = re.compile(r"(\S+@[^\s>]+)\s*(?:->|→|=>|-->)\s*<?(\S+@[^\s>]+)")


def read_route(statement: str | None) -> tuple[tuple[Person, ...], tuple[str, ...]]:
    """(people, lines that name nobody): one `Name, Role, Agency <email>` a line.

    >>> read_route("Sol Senior, Head of Service, Example School <sol@school.example.test>\\nthanks")[0][0].agency
    'Example School'
    """
    people, unreadable = [], []
    for line in (statement or "").split("\n")[:MAX_ROUTED * 2]:
        person, problem = parse_person(line)
        if problem is None and len(people) < MAX_ROUTED:
            people.append(person)
        elif line.strip():
            unreadable.append(line.strip()[:200])
    return tuple(people), tuple(unreadable)


def read_correction(statement: str | None) -> tuple[str | None, str | None]:
    """(old, new) addresses from `old@address -> new@address` on the first line.

    >>> read_correction("sam@helth.example.test -> Sam@Health.example.test please")
    ('sam@helth.example.test', 'sam@health.example.test')
    """
    first = (statement or "").split("\n")[0]
    match = _ARROW_RE.search(first)
    if not match:
        return None, None
    old, _ = check_email(match.group(1).strip("<>.,;"))
    new, _ = check_email(match.group(2).strip("<>.,;"))
    return old, new
