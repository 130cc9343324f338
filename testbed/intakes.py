"""Invented intakes for the service as a real daemon, and the addresses they travel between.

The unit tests' intake format (INTAKE_BODY), with the people and facts varied
by a seeded random generator, so a run can be repeated. Invented people only.
"""
from __future__ import annotations

import contextlib
import random
from email.utils import make_msgid

from testbed.mailstack import MailStack

INTAKE = "intake@partnership.example.test"
BUSINESS = "business@partnership.example.test"
WORKER = "worker@council.example.test"
OTHER = "other@health.example.test"
USERS = [INTAKE, BUSINESS, WORKER, "manager@council.example.test", OTHER,
         "othermanager@health.example.test", "floor@council.example.test"]

# The unit tests' intake format, with the people and facts varied.
INTAKE_BODY = """Case reference: {client_ref}
About: {about}
Immediate risk: no
Category: {category}
Raised by: {raiser}, {raiser_role}, Example Council <{worker}>
My manager: {manager} <manager@council.example.test>
Disagreement with: {other}, {other_role}, Example Health <{other_email}>
Their manager: {other_manager} <othermanager@health.example.test>
Decision disputed: {decision}
Date of decision: {day:02d}/11/2026
Reasons: {reasons}
Outcome sought: {outcome}
"""

FIRST = ("Casey", "Robin", "Sam", "Alex", "Jordan", "Morgan", "Taylor", "Jamie", "Avery", "Riley", "Quinn",
         "Rowan", "Sasha", "Kit", "Ellis", "Harper")
LAST = ("Tester", "Sample", "Example", "Mock", "Fixture", "Dummy", "Placeholder", "Trial", "Pilot", "Draft")
WORKER_ROLES = ("Social Worker", "Family Support Worker", "Team Manager", "Early Help Practitioner")
OTHER_ROLES = ("Health Visitor", "School Nurse", "Community Paediatrician", "Midwife")
CATEGORIES = ("threshold / level of need", "roles and responsibilities", "communication and information sharing",
              "closing involvement", "provision of services")
DECISIONS = ("Referral for an early help assessment declined.", "Case closed without a home visit.",
             "Request for a joint visit refused.", "Health assessment not offered.")
REASONS = ("Repeated missed health appointments.", "A nursery report of concern.",
           "Neighbours reported shouting late at night.", "Attendance has fallen below 80 per cent.")
OUTCOMES = ("An early help assessment started.", "A strategy discussion.", "A joint home visit.",
            "The decision reviewed by a manager.")


def intake_mail(i: int, rng: random.Random | None = None) -> tuple[bytes, str]:
    """Intake number *i* from the worker: (raw bytes, its Message-ID). Invented people only."""
    rng = rng or random.Random(i)
    pick = rng.choice
    body = INTAKE_BODY.format(
        client_ref=f"CH-{i:05d}-{rng.randrange(100, 999)}", about=pick(("child", "adult")),
        category=pick(CATEGORIES), raiser=f"{pick(FIRST)} {pick(LAST)}", raiser_role=pick(WORKER_ROLES),
        worker=WORKER, manager=f"{pick(FIRST)} {pick(LAST)}", other=f"{pick(FIRST)} {pick(LAST)}",
        other_role=pick(OTHER_ROLES), other_email=OTHER, other_manager=f"{pick(FIRST)} {pick(LAST)}",
        decision=pick(DECISIONS), day=rng.randrange(1, 23), reasons=pick(REASONS), outcome=pick(OUTCOMES))
    mid = make_msgid(idstring=f"intake{i}", domain="council.example.test")
    raw = (f"From: Example Worker <{WORKER}>\r\nTo: {INTAKE}\r\n"
           f"Subject: Escalation: {pick(DECISIONS)[:-1].lower()} ({i})\r\n"
           f"Message-ID: {mid}\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
           + body.replace("\n", "\r\n"))
    return raw.encode(), mid


def append_intakes(stack: MailStack, numbers: range, seed: int = 0, chunk: int = 100) -> list[str]:
    """Put intakes straight into the intake INBOX with MULTIAPPEND; returns their Message-IDs."""
    rng = random.Random(seed)
    mids, batch = [], []
    client = stack.imap(INTAKE)
    try:
        for i in numbers:
            raw, mid = intake_mail(i, random.Random(rng.random()))
            mids.append(mid)
            batch.append(raw)
            if len(batch) >= chunk:
                client.multiappend("INBOX", batch)
                batch = []
        if batch:
            client.multiappend("INBOX", batch)
    finally:
        with contextlib.suppress(Exception):
            client.logout()
    return mids
