"""Mail as the partnership's workers send it: the invented people on a case, the intake form,
and a message built the way a mail client writes one. Invented people only."""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

WORKER = "casey.tester@council.example.test"
OTHER = "drew.sample@health.example.test"
MANAGER = "morgan.tester@council.example.test"
OTHER_MANAGER = "riley.sample@health.example.test"

INTAKE_BODY = f"""Case reference: CH-1001-TEST
About: child
Immediate risk: {{risk}}
Category: threshold / level of need
Raised by: Casey Tester, Social Worker, Example Council <{WORKER}>
My manager: Morgan Tester <{MANAGER}>
Disagreement with: Drew Sample, Health Visitor, Example Health <{OTHER}>
Their manager: Riley Sample <{OTHER_MANAGER}>
Decision disputed: Referral for an early help assessment declined.
Date of decision: 20/11/2026
Reasons: Repeated missed health appointments.
Outcome sought: An early help assessment started.
"""


def mail(sender: str, subject: str, body: str, *, in_reply_to: str | None = None,
         headers: dict | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "escalations@partnership.example.test"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].rstrip(">") or "example.test")
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
        msg["References"] = f"<{in_reply_to}>"
    for k, v in (headers or {}).items():
        msg[k] = v
    msg.set_content(body)
    return msg.as_bytes()


def intake(risk: str = "no", sender: str = f"Casey Tester <{WORKER}>") -> bytes:
    return mail(sender, "Escalation: early help declined", INTAKE_BODY.replace("{risk}", risk))
