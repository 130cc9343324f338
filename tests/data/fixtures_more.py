"""Replies, auto-replies, bounces, broken mail and more intakes for make_fixtures.py."""
from __future__ import annotations

from mime_kit import (DISCLAIMER, OUR_NOTICE_ID, alternative, b64, form, headers, lines, outlook_headers,
                      outlook_html, outlook_reply_block_html, outlook_reply_block_text, single)

SAM = "Sam Carter <sam.carter@health.example.test>"
JO = "Jo Bloggs <jo.bloggs@council.example.test>"
US = "Escalations <escalations@partnership.example.test>"
SUBJ = "[ESC-2026-0042] Escalation notice: please respond"
THREAD = f"In-Reply-To: {OUR_NOTICE_ID}\nReferences: {OUR_NOTICE_ID}\n"
NOTICE = ["You have been named in an escalation.", "Reply with ACKNOWLEDGED, RESOLVED or ESCALATE.",
          "RESOLVED - reply RESOLVED when agreed."]
REPLY = dict(kind="reply", case_ref="ESC-2026-0042")
OUT: list = []


def add(name, raw, **expect):
    OUT.append((name, raw, expect))


def replies_outlook():
    body = "RESOLVED - we met today and agreed health visiting will reopen.\nA joint visit is booked.\n"
    sig = "\nKind regards\nSam Carter\nHealth Visitor\n\n" + DISCLAIMER + "\n\n"
    plain = body + sig + outlook_reply_block_text(US, "24 November 2026 08:00", SAM, SUBJ, NOTICE)
    html = outlook_html(["RESOLVED - we met today and agreed health visiting will reopen.", "A joint visit is booked.", "",
                         "Kind regards", "Sam Carter"], tail=outlook_reply_block_html(US, "24 November 2026 08:00", SAM, SUBJ, NOTICE))
    raw = outlook_headers(SAM, "RE: " + SUBJ, "<DB7PR01MB4455AA11@DB7PR01MB4455.eurprd01.prod.exchangelabs.com>", THREAD) \
        + alternative(plain, html, "_000_DB7PR01MB4455AA11_", charset="us-ascii")
    add("reply_outlook_resolved.eml", raw, **REPLY, command="resolved",
        statement="we met today and agreed health visiting will reopen. A joint visit is booked.")

    html = outlook_html(["NOT RESOLVED &#8211; the plan still has no date for the review.", "", "Sam"],
                        tail='<div id="appendonsend"></div>\n<hr style="display:inline-block;width:98%" tabindex="-1">\n'
                             '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt" color="#000000">'
                             f'<b>From:</b> Escalations<br><b>Sent:</b> 24 November 2026 08:00<br><b>To:</b> Sam Carter<br>'
                             f'<b>Subject:</b> {SUBJ}</font><div>&nbsp;</div></div>\n<div>RESOLVED when agreed</div>\n')
    raw = outlook_headers(SAM, "RE: " + SUBJ, "<DB7PR01MB4455BB22@DB7PR01MB4455.eurprd01.prod.exchangelabs.com>", THREAD) \
        + single(html, "text/html", "utf-8")
    add("reply_outlook_html_only_not_resolved.eml", raw, **REPLY, command="escalate",
        statement="the plan still has no date for the review.")

    plain = "not agreed.  I have asked my manager to call.\n\n-----Original Message-----\nFrom: Escalations\nSent: 24 November 2026 08:00\nTo: Sam\nSubject: " + SUBJ + "\n\nRESOLVED?\n"
    raw = headers(SAM, US, "RE: " + SUBJ, "<0001abcd$0002ef01$@health.example.test>", THREAD + "X-Mailer: Microsoft Outlook 14.0\n") + single(plain, charset="us-ascii", cte="7bit")
    add("reply_original_message_not_agreed.eml", raw, **REPLY, command="escalate", statement="I have asked my manager to call.")


def replies_gmail_apple():
    quote_plain = "On Tue, 24 Nov 2026 at 08:00, Escalations <escalations@partnership.example.test>\nwrote:\n\n> " + "\n> ".join(NOTICE) + "\n"
    plain = "Acknowledged. I will review the file and reply by Friday.\n\n" + quote_plain
    html = ('<div dir="ltr">Acknowledged. I will review the file and reply by Friday.</div><br><div class="gmail_quote">'
            '<div dir="ltr" class="gmail_attr">On Tue, 24 Nov 2026 at 08:00, Escalations &lt;<a href="mailto:escalations@partnership.example.test">'
            'escalations@partnership.example.test</a>&gt; wrote:<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;'
            'border-left:1px solid rgb(204,204,204);padding-left:1ex">' + "<br>".join(NOTICE) + "</blockquote></div>\n")
    raw = headers("Sam Carter <sam.carter@gmail.example.test>", US, "Re: " + SUBJ, "<CAF5t+Re9d8dLpQ2vT5sUe1=Ack0kRz@mail.gmail.com>", THREAD) \
        + alternative(plain, html, "000000000000e7a1b2061a2c3d5f", plain_cte="7bit")
    add("reply_gmail_acknowledged.eml", raw, **REPLY, command="acknowledged", statement="I will review the file and reply by Friday.")

    plain = "*RESOLVED* agreed at the strategy meeting\n\nOn Tue, 24 Nov 2026 at 08:00, Escalations <escalations@partnership.example.test> wrote:\n> ESCALATE?\n"
    raw = headers("Sam Carter <sam.carter@gmail.example.test>", US, "Re: " + SUBJ, "<CAF5t+Bold0dLpQ@mail.gmail.com>", THREAD) + single(plain, cte="7bit")
    add("reply_gmail_bold_keyword.eml", raw, **REPLY, command="resolved", statement="agreed at the strategy meeting")

    apple_quote = "> On 24 Nov 2026, at 08:00, Escalations <escalations@partnership.example.test> wrote:\n>\n> " + "\n> ".join(NOTICE)
    plain = "Update: spoke to the nursery today.\nThey will share attendance records.\n\nSam\n\n" + apple_quote + "\n"
    html = ('<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head><body style="overflow-wrap: break-word; '
            '-webkit-nbsp-mode: space; line-break: after-white-space;">Update: spoke to the nursery today.<div>They will share attendance records.</div>'
            '<div><br></div><div>Sam<br id="lineBreakAtBeginningOfMessage"><div><br><blockquote type="cite"><div>On 24 Nov 2026, at 08:00, '
            'Escalations &lt;escalations@partnership.example.test&gt; wrote:</div><br class="Apple-interchange-newline"><div><div>'
            + "<br>".join(NOTICE) + "</div></div></blockquote></div><br></div></body></html>\n")
    raw = headers(SAM, US, "Re: " + SUBJ, "<3C9E2F1A-7B6D-4E5F-9A8B-1C2D3E4F5A6B@health.example.test>",
                  THREAD + "X-Mailer: Apple Mail (2.3774.600.62)\n").replace("MIME-Version: 1.0\n", "Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.600.62\\))\n") \
        + alternative(plain, html, "Apple-Mail=_5E4A1C2B-9D8E-4F7A-B6C5-D4E3F2A1B0C9", plain_params="")
    add("reply_apple_update.eml", raw, **REPLY, command="update", statement="spoke to the nursery today. They will share attendance records.")

    html = ('<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head><body dir="auto">'
            '<div dir="ltr">Withdraw - family moved out of area, case closed by agreement</div><div dir="ltr"><br>'
            '<div dir="ltr">Sent from my iPhone</div><blockquote type="cite">On 24 Nov 2026, at 08:00, Escalations wrote:<br><br>'
            'RESOLVED</blockquote></div></body></html>')
    plain = "Withdraw - family moved out of area, case closed by agreement\n\nSent from my iPhone\n\n" + apple_quote + "\n"
    raw = headers(JO, US, "Re: " + SUBJ, "<A0B1C2D3-E4F5-4A6B-8C7D-9E0F1A2B3C4D@council.example.test>", THREAD + "X-Mailer: iPhone Mail (21F90)\n") \
        + alternative(plain, html, "Apple-Mail-7F3E2D1C-0B9A-4876-A5B4-C3D2E1F0A9B8")
    add("reply_iphone_withdraw.eml", raw, **REPLY, command="withdraw", statement="family moved out of area, case closed by agreement")

    plain = "Conference requested \u2013 please ask the CP chair for an ICPC.\n\nSent from my Galaxy\n\n-------- Original message --------\nFrom: Escalations\n" \
            "Date: 24/11/2026 08:00 (GMT+00:00)\nTo: Sam\nSubject: " + SUBJ + "\n\nACKNOWLEDGED\n"
    raw = headers(SAM, US, "RE: " + SUBJ, "<b7c8d9e0-f1a2-4b3c-8d4e-5f6a7b8c9d0e@email.android.com>", THREAD) + single(plain, cte="base64")
    add("reply_android_conference_requested.eml", raw, **REPLY, command="conference_requested", statement="please ask the CP chair for an ICPC.")


def replies_headers():
    raw = headers(SAM, US, "RE: " + SUBJ, "<sub.tag.only@health.example.test>") + single("resolved, thanks - agreed on the phone\n\n-- \nSam Carter\n07700 900 456\n", cte="7bit")
    add("reply_subject_tag_only.eml", raw, **REPLY, command="resolved", statement="thanks - agreed on the phone", warnings=[])

    raw = headers(SAM, US, "Re: the health visiting question", "<refs.only@health.example.test>",
                  f"References: <CAF5t+x@mail.gmail.example.test> {OUR_NOTICE_ID}\n") + single("ESCALATE\n\nSam\n", cte="7bit")
    add("reply_references_only_rewritten_subject.eml", raw, **REPLY, command="escalate", statement=None)

    raw = headers(SAM, US, "RE: " + SUBJ, "<no.keyword@health.example.test>", THREAD) + single(
        "Hi Jo,\n\nI'm on leave until Monday, will look then. Resolved is not likely.\n\nThanks\nSam\n", cte="7bit")
    add("reply_without_keyword.eml", raw, **REPLY, command=None, statement=None, errors=["command"])

    raw = headers(SAM, US, "RE: " + SUBJ, "<esc.bare@health.example.test>", THREAD) + single("Escalate\n-- \nSam Carter, Health Visitor\n", cte="7bit")
    add("reply_escalate_empty_statement.eml", raw, **REPLY, command="escalate", statement=None)

    raw = headers(SAM, US, "RE: " + SUBJ, "<nhs.in.reply@health.example.test>", THREAD) + single(
        "UPDATE: mother gave the child's NHS number 999 000 0018 and postcode WV1 1AA at the visit.\n", cte="7bit")
    add("reply_update_with_personal_data.eml", raw, **REPLY, command="update",
        statement="mother gave the child's NHS number 999 000 0018 and postcode WV1 1AA at the visit.", warnings=["statement", "statement"])


def autos():
    raw = outlook_headers(SAM, "Automatic reply: " + SUBJ, "<oof.1@health.example.test>", THREAD + "Auto-Submitted: auto-replied\nX-Auto-Response-Suppress: All\n") \
        + single("I am out of the office until 30 November. RESOLVED matters go to Priya.\n", charset="us-ascii")
    add("auto_outlook_out_of_office.eml", raw, kind="auto_reply", case_ref="ESC-2026-0042", command=None, statement=None)

    raw = outlook_headers(SAM, "Automatic reply: " + SUBJ, "<oof.2@health.example.test>", "X-Auto-Response-Suppress: All\n") \
        + single("Resolved. I am away this week.\n", charset="us-ascii")
    add("auto_exchange_suppress_header_subject.eml", raw, kind="auto_reply", case_ref="ESC-2026-0042", command=None, statement=None)

    raw = headers("Sam Carter <sam.carter@gmail.example.test>", US, "Away until Monday", "<CAvac@mail.gmail.com>",
                  THREAD + "Auto-Submitted: auto-replied\nPrecedence: bulk\n") + single("Escalate anything urgent to the duty desk.\n", cte="7bit")
    add("auto_gmail_vacation.eml", raw, kind="auto_reply", case_ref="ESC-2026-0042", command=None, statement=None)

    raw = headers("Safeguarding News <news@lists.example.test>", US, "Escalation policy newsletter", "<news.1@lists.example.test>",
                  "Precedence: bulk\nList-Unsubscribe: <mailto:leave@lists.example.test>\n") + single(lines(form()), cte="7bit")
    add("auto_bulk_newsletter.eml", raw, kind="auto_reply", case_ref=None, command=None, statement=None,
        via_list=True)

    raw = headers("Practitioners <forum@lists.example.test>", US, "[forum] escalation question", "<list.1@lists.example.test>",
                  "List-Id: Practitioners forum <forum.lists.example.test>\n") + single("RESOLVED? anyone know?\n", cte="7bit")
    # List-Id alone is not an automatic reply (issue 18): a subject saying "escalation" makes it an
    # intake, which the tracker never answers because it came through a list.
    add("list_forum_question.eml", raw, kind="intake", case_ref=None, command=None, statement=None, via_list=True)

    raw = headers(US, US, "[ESC-2026-0042] Escalation notice", "<ESC-2026-0042.notice.9d8e7f@escalations.invalid>",
                  "X-Escalations-Service: notice\n") + single("RESOLVED - reply RESOLVED when agreed\n", cte="7bit")
    add("auto_own_marker.eml", raw, kind="auto_reply", case_ref="ESC-2026-0042", command=None, statement=None, own=True)


def bounces():
    raw = headers("Mail Delivery System <MAILER-DAEMON@mx.partnership.example.test>", US, "Undelivered Mail Returned to Sender",
                  "<20261124080102.ABC123@mx.partnership.example.test>", "Auto-Submitted: auto-replied\n") + (
        'Content-Type: multipart/report; report-type=delivery-status;\n\tboundary="ABC123.1732435262/mx.partnership.example.test"\n\n'
        "This is a MIME-encapsulated message.\n\n--ABC123.1732435262/mx.partnership.example.test\nContent-Description: Notification\n"
        "Content-Type: text/plain; charset=us-ascii\n\nI'm sorry to have to inform you that your message could not be delivered.\n\n"
        "<sam.carter@health.example.test>: host mx.health.example.test said: 550 5.1.1 User unknown\n\n"
        "--ABC123.1732435262/mx.partnership.example.test\nContent-Description: Delivery report\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.partnership.example.test\n\nFinal-Recipient: rfc822; sam.carter@health.example.test\nAction: failed\n"
        "Status: 5.1.1\n\n--ABC123.1732435262/mx.partnership.example.test\nContent-Description: Undelivered Message Headers\n"
        f"Content-Type: text/rfc822-headers\n\nSubject: {SUBJ}\nMessage-ID: {OUR_NOTICE_ID}\n\n"
        "--ABC123.1732435262/mx.partnership.example.test--\n")
    add("bounce_postfix_dsn.eml", raw, kind="bounce", case_ref=None, command=None, statement=None)

    raw = headers("postmaster@health.example.test", US, "Delivery has failed: " + SUBJ, "<ndr.1@health.example.test>") + single(
        "Your message to sam.carter@health.example.test couldn't be delivered.\nRESOLVED\n", cte="7bit")
    add("bounce_postmaster_plain.eml", raw, kind="bounce", case_ref="ESC-2026-0042", command=None, statement=None)


def invalid_and_broken():
    raw = headers("Prize Team <win@prizes.example.test>", US, "You have WON", "<spam.1@prizes.example.test>") + single(
        "<p>Click <a href='http://prizes.example.test'>here</a></p>", "text/html", cte="7bit")
    add("invalid_spam.eml", raw, kind="invalid", case_ref=None, command=None, statement=None)

    raw = headers(SAM, US, "RE: lunch on Friday", "<lunch@health.example.test>") + single("Resolved - see you at 1\n", cte="7bit")
    add("invalid_reply_without_case.eml", raw, kind="invalid", case_ref=None, command=None, statement=None)

    add("broken_no_headers.eml", "just some text\nwith no headers at all\n", kind="invalid", case_ref=None, command=None, statement=None)

    raw = headers(JO, US, "Escalation", "<bad.charset@council.example.test>") + single(lines(form()), charset="x-klingon-1", cte="7bit")
    add("broken_unknown_charset_intake.eml", raw, kind="intake", case_ref=None, command=None, errors=[],
        fields={"case_reference": "LCS-204117", "decision_date": "2026-11-20"})

    raw = (headers(SAM, US, "RE: " + SUBJ, "<truncated@health.example.test>") + 'Content-Type: multipart/alternative; boundary="cut"\n\n'
           "--cut\nContent-Type: text/plain; charset=utf-8\n\nResolved - agreed, sorry for the delay\n\n--cut\nContent-Type: text/html; charset=utf-8\n\n<div>Resol")
    add("broken_truncated_mime_reply.eml", raw, **REPLY, command="resolved", statement="agreed, sorry for the delay")

    raw = headers(SAM, US, "RE: " + SUBJ, "<bad.b64@health.example.test>", THREAD) + (
        'Content-Type: text/plain; charset="utf-8"\nContent-Transfer-Encoding: base64\n\n' + b64("ACKNOWLEDGED\n")[:-3] + "!!*\n")
    add("broken_bad_base64.eml", raw, **REPLY)

    raw = (headers(JO, US, "Escalation", "<utf8.as.ascii@council.example.test>") + 'Content-Type: text/plain; charset="us-ascii"\n'
           "Content-Transfer-Encoding: 8bit\n\n" + lines(form(reasons="Nursery say he’s lost weight – 2kg since June."))).encode("utf-8")
    add("broken_utf8_labelled_ascii.eml", raw, kind="intake", case_ref=None, command=None, errors=[],
        fields={"reasons": "Nursery say he’s lost weight – 2kg since June."})

    raw = b"From: \xff\xfe bad <\x00@@>\nSubject: =?utf-8?b?!!!?=\nContent-Type: multipart/mixed; boundary=\n\n--\n\x00\x01\x02"
    add("broken_garbage_headers.eml", raw, kind="invalid", case_ref=None, command=None, statement=None)

    add("broken_empty.eml", "", kind="invalid", case_ref=None, command=None, statement=None)


def more_intakes():
    raw = headers(JO, US, "Escalation", "<missing@council.example.test>") + single(
        "Case reference: LCS-3\nCategory: something odd\nRaised by: Jo Bloggs\nDate of decision: 31/11/2026\n"
        "Disagreement with: Sam Carter, Health Visitor <sam.carter@@health.example.test>\n", cte="7bit")
    add("intake_missing_and_unreadable.eml", raw, kind="intake", case_ref=None, command=None,
        errors=["immediate_risk", "category", "other_party", "decision_disputed", "decision_date", "reasons", "outcome_sought"],
        fields={"case_reference": "LCS-3", "raised_by": {"name": "Jo Bloggs", "email": "jo.bloggs@council.example.test"}})

    rows = [("Client reference", "AS-55012"), ("Child or adult", "Adult"), ("Immediate risk of significant harm", "yes"),
            ("Type of disagreement", "Communication / info sharing"), ("Raised by", "Jo Bloggs, Social Worker, Adult Social Care <jo.bloggs@council.example.test>"),
            ("My manager or safeguarding lead", "Amy Lee amy.lee@council.example.test"),
            ("Other professional", "DS Priya Shah, Police <priya.shah@police.example.test>"),
            ("Issue/Concern", "Police did not share the strategy discussion notes."), ("Date of decision", "2026-11-19"),
            ("Reasons and evidence", "Notes requested three times.\nNo reply."), ("Outcome sought", "Notes shared within 2 days."),
            ("Record of discussions", "Email 20/11, call 21/11.")]
    raw = headers(JO, US, "Adult escalation", "<aliases@council.example.test>") + single(lines(rows), cte="7bit")
    add("intake_all_aliases.eml", raw, kind="intake", case_ref=None, command=None, errors=[], warnings=[],
        fields={"case_reference": "AS-55012", "about": "adult", "immediate_risk": True, "category": "communication and information sharing",
                "raiser_manager": {"email": "amy.lee@council.example.test"}, "other_party": {"email": "priya.shah@police.example.test"},
                "decision_disputed": "Police did not share the strategy discussion notes.", "decision_date": "2026-11-19",
                "reasons": "Notes requested three times. No reply.", "discussions": "Email 20/11, call 21/11."})

    rows = form(reasons="DOB: 03/04/2019, NHS number 999 000 0018, lives at WV1 1AA, mum's mobile 07700 900123.",
                discussions="Called MASH on 01902 555392 and the IFD on 01403 229900.",
                outcome_sought="Child's name: Jane Example to be added to the plan.")
    raw = headers(JO, US, "Escalation", "<pii@council.example.test>") + single(lines(rows), cte="7bit")
    add("intake_personal_data_warnings.eml", raw, kind="intake", case_ref=None, command=None, errors=[],
        warnings=["reasons", "reasons", "reasons", "reasons", "outcome_sought"], fields={"case_reference": "LCS-204117"})

    rows = form(reasons="Reference numbers 1234567890 and 9990000017 are not NHS numbers.")
    raw = headers(JO, US, "Disagreement about the plan", "<no.subject.word@council.example.test>") + single(lines(rows), cte="7bit")
    add("intake_labels_without_escalation_subject.eml", raw, kind="intake", case_ref=None, command=None, errors=[], warnings=[], fields=STD_SHORT)

    raw = headers(JO, US, "RE: " + SUBJ, "<resubmit@council.example.test>", THREAD) + single(
        "Here is the corrected form.\n\n" + lines(form(category="CP conference refused")) + "\n", cte="7bit")
    add("intake_resubmitted_in_case_thread.eml", raw, kind="intake", case_ref="ESC-2026-0042", command=None, errors=[],
        fields={"category": "child protection conference or plan refused"})

    rows = form(case_reference="Jane Example", date_of_decision="20/11/2026")
    raw = headers(JO, US, "Escalation", "<name.ref@council.example.test>") + single(lines(rows), cte="7bit")
    add("intake_name_as_case_reference.eml", raw, kind="intake", case_ref=None, command=None, errors=[], warnings=["case_reference"])

    rows = form(date_of_decision="20/12/2026")
    raw = headers(JO, US, "Escalation", "<future.date@council.example.test>") + single(lines(rows), cte="7bit")
    add("intake_decision_date_after_sending.eml", raw, kind="intake", case_ref=None, command=None, errors=["decision_date"])

    rows = form(reasons="The nursery has raised concerns on\nthree occasions, most recently\non 18/11/2026.",
                outcome_sought="A multi-agency meeting\nbefore the end of the month.")
    text = "\n".join(f"\u2022 **{l}:**\n{v}" for l, v in rows) + "\n\nBest wishes\nJo\n"
    raw = headers(JO, US, "escalation", "<multiline@council.example.test>") + single(text, cte="quoted-printable")
    add("intake_bullets_values_on_next_lines.eml", raw, kind="intake", case_ref=None, command=None, errors=[],
        fields={"reasons": "The nursery has raised concerns on three occasions, most recently on 18/11/2026.",
                "outcome_sought": "A multi-agency meeting before the end of the month."}, must_not_contain=["Best wishes"])


STD_SHORT = {"case_reference": "LCS-204117", "category": "threshold / level of need", "decision_date": "2026-11-20"}


def MORE():
    OUT.clear()
    for make in (replies_outlook, replies_gmail_apple, replies_headers, autos, bounces, invalid_and_broken, more_intakes):
        make()
    return OUT
