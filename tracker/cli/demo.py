"""`escalations demo`: the workflow on the embedded default, on a simulated clock.

Invented people and references only. Everything lands in one folder: the SQLite
database, the inbox Maildir (with Processed and Quarantine) and the sent mail as .eml.
"""
from __future__ import annotations

import asyncio
import email
import email.policy
import shutil
import tomllib
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from tracker.daemon.app import SHIPPED_TEMPLATES, App
from tracker.daemon.clock import Clock
from tracker.incoming.reading import IN_PROCESS
from tracker.config.load import config_from_dict
from tracker.storage.models import Case, InboundMessage, OutboxMail
from tracker.cli.terminal import out as show
from tracker.cli.views import timeline
from tracker.desk import demo as desk_demo

LONDON = ZoneInfo("Europe/London")
START = datetime(2026, 11, 23, 9, 30, tzinfo=LONDON)  # a Monday morning

ALEX = "Alex Example, Social Worker, Example Council Children's Services <alex.example@council.example.test>"
SAM = "Dr Sam Sample, Community Paediatrician, Example Health Trust <sam.sample@health.example.test>"

INTAKE_ONE = f"""Case reference: CH-0001-DEMO
About: child
Immediate risk: no
Category: threshold / level of need
Raised by: {ALEX}
My manager: Morgan Manager <morgan.manager@council.example.test>
Disagreement with: {SAM}
Their manager: Riley Lead <riley.lead@health.example.test>
Decision disputed: The referral for a child protection medical was declined as not meeting threshold.
Date of decision: 20/11/2026
Reasons: Two unexplained bruises seen at nursery within a fortnight; the nursery's records are attached to our file.
Outcome sought: A child protection medical this week.
Discussions so far: Phoned on 20 November; agreed to escalate.

Kind regards
Alex
"""

INTAKE_TWO = """Case reference: CH-0002-DEMO
Immediate risk: no
Category: communication and information sharing
Raised by: Pat Placeholder, PC, Example Police <pat.placeholder@police.example.test>
My manager: Sergeant Quinn Query <quinn.query@police.example.test>
Disagreement with: Jo Dummy, Designated Safeguarding Lead, Example Primary School <jo.dummy@school.example.test>
Their manager: Chris Head <chris.head@school.example.test>
Decision disputed: Attendance concerns were not shared with the police.
Date of decision: 18 Nov 2026
Reasons: The strategy discussion needed the attendance record.
Outcome sought: The record shared before the next strategy discussion.
"""

# Still open when the demo ends, so the desk's Today page has something to show.
INTAKE_FOUR = """Case reference: CH-0004-DEMO
Immediate risk: no
Category: roles and responsibilities
Raised by: Jo Dummy, Designated Safeguarding Lead, Example Primary School <jo.dummy@school.example.test>
My manager: Chris Head <chris.head@school.example.test>
Disagreement with: Alex Example, Social Worker, Example Council Children's Services <alex.example@council.example.test>
Their manager: Morgan Manager <morgan.manager@council.example.test>
Decision disputed: The family was signposted to early help instead of an assessment by children's services.
Date of decision: 25/11/2026
Reasons: Three referrals from the school this term; the family has declined early help twice.
Outcome sought: A children's social care assessment.
"""

INTAKE_BAD = """Case reference: CH-0003-DEMO
Category: closing involvement
Raised by: Alex Example, Social Worker, Example Council <alex.example@council.example.test>
Decision disputed: Case closed by the other service without a handover.
"""


def from_header(person: str) -> str:
    """'Name, Role, Agency <email>' as a From header: 'Name <email>'."""
    name, _, rest = person.partition(",")
    return f"{name.strip()} <{person.rpartition('<')[2].rstrip('>')}>" if rest else person


def subject_of(raw: bytes) -> str:
    return str(email.message_from_bytes(raw, policy=email.policy.default)["Subject"])


def mail(sender: str, subject: str, body: str, when: datetime, in_reply_to: str | None = None,
         extra: dict | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = from_header(sender)
    msg["To"] = "escalations@partnership.example.test"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].rstrip(">"))
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
        msg["References"] = f"<{in_reply_to}>"
    for k, v in (extra or {}).items():
        msg[k] = v
    msg.set_content(body)
    return msg.as_bytes()


class Demo:
    def __init__(self, folder: Path, out: TextIO, clock: Clock):
        self.folder, self.out = folder, out
        self.now = START
        # the demo reads in this process (no budget): the same seam as the daemon's worker
        self.app = App.from_config(demo_config(folder), clock, now=lambda: self.now.astimezone(LONDON),
                                   reader=IN_PROCESS)
        self.seen_in = self.seen_out = 0

    def say(self, text: str) -> None:
        show(f"{self.now:%a %d %b %H:%M}  {text}", self.out)

    def deliver(self, raw: bytes, what: str) -> None:
        self.say(f"IN   {what}")
        (self.folder / "inbox" / "new" / f"{self.now.timestamp():.0f}.{self.seen_in}.demo").write_bytes(raw)
        self.seen_in += 1

    def tick(self, minutes: int = 0) -> None:
        self.now += timedelta(minutes=minutes)
        self.app.ingest(self.app_inbox)
        self.app.sweep()
        asyncio.run(self.app.send_all())
        self._report()

    def _report(self) -> None:
        with Session(self.app.engine) as s:
            for m in s.exec(select(InboundMessage).order_by(InboundMessage.id).offset(self._reported_in)):
                self.say(f"     -> {m.disposition}: {m.reason}")
                self._reported_in += 1
            for o in s.exec(select(OutboxMail).order_by(OutboxMail.id).offset(self.seen_out)):
                subject = subject_of(o.raw)
                self.say(f"OUT  {o.kind:<20} to {o.recipient}: {subject}")
                self.seen_out += 1

    _reported_in = 0

    def case_ref(self, n: int) -> str:
        with Session(self.app.engine) as s:
            return s.exec(select(Case.ref).order_by(Case.id).offset(n - 1)).first()

    def outgoing(self, kind: str, recipient: str) -> OutboxMail:
        with Session(self.app.engine) as s:
            return s.exec(select(OutboxMail).where(OutboxMail.kind == kind, OutboxMail.recipient == recipient)
                          .order_by(OutboxMail.id.desc())).first()

    def reply(self, sender: str, to_kind: str, body: str, what: str, minutes: int, auto: bool = False) -> None:
        self.now += timedelta(minutes=minutes)
        addr = sender.rpartition("<")[2].rstrip(">")
        original = self.outgoing(to_kind, addr)
        subject = subject_of(original.raw)
        prefix, extra = ("Automatic reply: ", {"Auto-Submitted": "auto-replied"}) if auto else ("RE: ", None)
        quoted = f"From: {self.app.partnership.address}\nSent: earlier\nSubject: {subject}\n\n> (the notice)"
        self.deliver(mail(sender, prefix + subject, f"{body}\n\n{quoted}\n", self.now, original.message_id, extra), what)


def demo_data(folder: Path) -> dict:
    """The project's config.toml pointed into the demo's folder (and, for the desk, a
    session key of its own: tracker.desk.demo)."""
    project_config = SHIPPED_TEMPLATES.parent / "config.toml"
    data = tomllib.loads(project_config.read_text()) if project_config.exists() else {}
    data["database"] = {"url": f"sqlite:///{folder / 'escalations.db'}", "url_env": ""}
    data["inbox"] = {"kind": "maildir", "path": str(folder / "inbox")}
    data["outgoing"] = {"kind": "maildir", "path": str(folder / "sent")}
    data["templates"] = {"dir": str(SHIPPED_TEMPLATES)}
    data["daemon"] = {**data.get("daemon", {}), "heartbeat_file": str(folder / "heartbeat.json")}
    # The demo's invented mail is written straight into a local folder: no receiving server
    # saw it, so none can vouch for its senders. Said explicitly; never a deployment's setting.
    data["security"] = {**data.get("security", {}), "receiving_server": "none"}
    return data


def demo_config(folder: Path):
    """The demo's settings, also written to its folder's config.toml for `escalations desk`."""
    data = demo_data(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data["desk"] = desk_demo.desk_table(data, folder)
    desk_demo.write_config(data, folder / "config.toml")
    return config_from_dict(data, base=folder, path=folder / "config.toml")


MARK = "# Written by `escalations demo`"  # the first line of the config.toml it leaves (tracker.desk.demo)


def _clear(folder: Path) -> None:
    """Remove the last demo's folder; never a folder the demo did not write (`--dir ~`)."""
    from tracker.errors import UsageError

    config = folder / "config.toml"
    try:
        ours = config.read_text(encoding="utf-8").startswith(MARK)
    except (OSError, UnicodeDecodeError):
        ours = False
    if not folder.is_dir() or not (ours or not any(folder.iterdir())):
        raise UsageError(f"{folder} exists and is not a folder an earlier demo left: give --dir a new or "
                         "empty folder, or the demo's own")
    shutil.rmtree(folder)


def run_demo(folder: Path, out: TextIO, clock: Clock, now=None) -> int:
    """The demo in `folder`; `now` (the service's time, for --now) is when the desk's link is asked."""
    if folder.exists():
        _clear(folder)
    (folder / "inbox" / "new").mkdir(parents=True)
    demo = Demo(folder.resolve(), out, clock)
    from mailer.inbox import MaildirInbox

    demo.app_inbox = MaildirInbox(folder / "inbox")
    show("escalations demo — invented people, simulated clock, no servers\n", out)
    demo.deliver(mail(ALEX, "Escalation: CP medical declined", INTAKE_ONE, demo.now), "escalation from Alex Example (council)")
    demo.deliver(mail("Pat Placeholder <pat.placeholder@police.example.test>", "escalation - attendance record",
                      INTAKE_TWO, demo.now), "escalation from Pat Placeholder (police)")
    demo.deliver(mail(ALEX, "Escalation", INTAKE_BAD, demo.now), "an escalation with details missing")
    demo.tick()
    demo.reply(SAM, "notice", "I am out of the office until Tuesday.", "an out-of-office reply", 5, auto=True)
    demo.tick()
    demo.reply(SAM, "notice", "ACKNOWLEDGED - I will review the nursery records today.",
               "Dr Sam Sample acknowledges", 60)
    demo.reply("Jo Dummy <jo.dummy@school.example.test>", "notice",
               "Not agreed: we need consent before sharing attendance records.", "Jo Dummy does not agree", 5)
    demo.tick()
    demo.reply(SAM, "notice", "RESOLVED: a child protection medical is booked for Wednesday; "
               "outstanding questions go to the strategy meeting.", "Dr Sam Sample resolves it", 26 * 60)
    demo.tick()
    demo.now = datetime(2026, 11, 25, 17, 1, tzinfo=LONDON)
    show(f"\n... nobody resolves {demo.case_ref(2)} at stage 2; its deadline passes at 17:00 on Wednesday and the sweep acts ...\n", out)
    demo.tick()
    demo.reply("Inspector Ira Senior <ira.senior@police.example.test>", "escalated",
               "RESOLVED: the school will share the attendance record under the information-sharing "
               "agreement before Friday's strategy discussion. Policy gap: consent guidance unclear.",
               "Inspector Ira Senior resolves it at stage 3", 16 * 60)
    demo.tick()
    demo.now += timedelta(hours=1)
    demo.deliver(mail("Jo Dummy <jo.dummy@school.example.test>", "Escalation: early help instead of an assessment",
                      INTAKE_FOUR, demo.now), "escalation from Jo Dummy (school), left open for the desk")
    demo.tick()
    with Session(demo.app.engine) as s:
        for case in s.exec(select(Case).order_by(Case.id)):
            show("\n" + timeline(s, demo.app.partnership, case), out)
    sent = sorted((folder / "sent" / "new").glob("*.eml"))
    show(f"\n{len(sent)} mails were 'sent': open them from {folder / 'sent' / 'new'}/*.eml", out)
    config = folder.resolve() / "config.toml"
    show(f"\nThe demo wrote {config}, its own settings: commands given it read the demo's database, e.g.\n"
          f"    .venv/bin/escalations --config {config} cases\n"
          f"    .venv/bin/escalations --config {config} case {demo.case_ref(1)}\n"
          f"    .venv/bin/escalations --config {config} digest --week 2026-W48", out)
    demo.now = (now or clock.now)().astimezone(LONDON)  # the desk runs on the real clock (or --now's)
    desk_demo.ready(demo.app, folder.resolve(), out)
    return 0

