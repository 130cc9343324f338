"""Writes tests/data/*.eml and expected.json. Run: python tests/data/make_fixtures.py

Each fixture is written the way its client formats mail; its expectation is written by hand
next to it (never computed by the parser). Invented people and example.test domains only.
"""
from __future__ import annotations

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from mime_kit import (DATE, DISCLAIMER, OUR_NOTICE_ID, SIGNATURE, alternative, b64, form, headers,  # noqa: E402
                      lines, mso, outlook_headers, outlook_html, outlook_reply_block_html,
                      outlook_reply_block_text, outlook_table, single)
from fixtures_more import MORE  # noqa: E402

HERE = pathlib.Path(__file__).parent
JO = "Jo Bloggs <jo.bloggs@council.example.test>"
SAM = "Sam Carter <sam.carter@health.example.test>"
INTAKE = dict(kind="intake", case_ref=None, command=None)
STD = {"case_reference": "LCS-204117", "category": "threshold / level of need", "immediate_risk": False,
       "decision_date": "2026-11-20", "raised_by": {"email": "jo.bloggs@council.example.test"},
       "other_party": {"email": "sam.carter@health.example.test"}}
LEAKS = ["Kind regards", "DISCLAIMER", "Sent from my", "01632", "From:", "wrote:"]
FIXTURES: dict[str, tuple[str | bytes, dict]] = {}


def fixture(name: str, raw: str | bytes, **expect) -> None:
    FIXTURES[name] = (raw, expect)


def outlook_plain_intake() -> None:
    text = "Hello,\n\nPlease accept this escalation.\n\n" + lines(form()) + "\n\n" + SIGNATURE + "\n\n" + DISCLAIMER
    html = outlook_html(["Hello,", "", "Please accept this escalation.", ""]
                        + [f"<b>{l}:</b> {v.replace('<', '&lt;').replace('>', '&gt;')}" for l, v in form()]
                        + ["", "Kind regards", "Jo Bloggs"], charset="windows-1252")
    raw = outlook_headers(JO, "Escalation - LCS-204117 - health visiting closure", "<DB9PR01MB7713A1B2C3D4E5F6@DB9PR01MB7713.eurprd01.prod.exchangelabs.com>") \
        + alternative(text.replace("Children's", "Children\u2019s"), html, "_000_DB9PR01MB7713A1B2C3D4E5F6DB9PR01MB7713eurp_", charset="windows-1252")
    fixture("intake_outlook_plain_and_html.eml", raw, **INTAKE, errors=[], warnings=[], must_not_contain=LEAKS,
            fields={**STD, "raised_by": {"name": "Jo Bloggs", "role": "Social Worker", "agency": "Children\u2019s Services",
                                         "email": "jo.bloggs@council.example.test"},
                    "raiser_manager": {"name": "Amy Lee", "email": "amy.lee@council.example.test"},
                    "other_manager": {"name": "Priya Nair", "email": "priya.nair@health.example.test"},
                    "reasons": "Three missed appointments since September and the nursery reports weight loss.",
                    "discussions": "Phoned Sam on 23/11/2026; no agreement."})


def outlook_table_intake() -> None:
    rows = form(reasons="Three missed appointments since September.\nThe nursery reports weight loss.",
                date_of_decision="20 Nov 2026")
    rows = [(l, v.replace("<", "&lt;").replace(">", "&gt;")) for l, v in rows]
    html = outlook_html(["Hi,", "", "Escalation form below.", ""], tail=outlook_table(rows) + mso("") + mso("Kind regards")
                        + mso("Jo") + mso("<i>" + DISCLAIMER + "</i>"))
    raw = outlook_headers(JO, "Escalation", "<AM0PR01MB5521F00D1234ABCD@AM0PR01MB5521.eurprd01.prod.exchangelabs.com>") \
        + single(html, "text/html", "us-ascii")
    fixture("intake_outlook_html_table.eml", raw, **INTAKE, errors=[], warnings=[], must_not_contain=LEAKS,
            fields={**STD, "reasons": "Three missed appointments since September.\nThe nursery reports weight loss."})


def owa_bullets_intake() -> None:
    items = "".join(f"<li><b>{l}:</b> {v.replace('<', '&lt;').replace('>', '&gt;')}</li>" for l, v in
                    form(category="Roles and responsibilities", about="adult with care and support needs"))
    html = ('<html><head>\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
            '<style type="text/css" style="display:none;"> P {margin-top:0;margin-bottom:0;} </style>\n</head>\n'
            '<body dir="ltr">\n<div class="elementToProof" style="font-family: Aptos, Aptos_EmbeddedFont, '
            'Calibri, Helvetica, sans-serif; font-size: 12pt; color: rgb(0, 0, 0);">\nEscalation as discussed.</div>\n'
            f'<ul data-editing-info="{{&quot;applyListStyleFromLevel&quot;:false}}">{items}</ul>\n'
            '<div id="Signature"><p>Best regards<br>Jo Bloggs</p></div>\n</body>\n</html>\n')
    raw = headers(JO, "escalations@partnership.example.test", "Escalation: roles and responsibilities",
                  "<PAXPR01MB8851C0FFEE12@PAXPR01MB8851.eurprd01.prod.outlook.com>",
                  "Content-Language: en-GB\nX-MS-Exchange-Organization-AuthAs: Internal\n") + single(html, "text/html", cte="base64")
    fixture("intake_owa_bullets_html_only.eml", raw, **INTAKE, errors=[], warnings=[],
            fields={**STD, "category": "roles and responsibilities", "about": "adult"})


def gmail_intake() -> None:
    plain = "Hi,\n\n" + lines(form(date_of_decision="2026-11-20"), "*{label}:* {value}") + "\n\n-- \nJo Bloggs\nSocial Worker\n"
    html = ('<div dir="ltr"><div>Hi,</div><div><br></div>' + "".join(
        f"<div><b>{l}:</b> {v.replace('<', '&lt;').replace('>', '&gt;')}</div>" for l, v in form(date_of_decision="2026-11-20"))
        + '<div><br></div><span class="gmail_signature_prefix">-- </span><br><div dir="ltr" class="gmail_signature">'
          'Jo Bloggs<br>Social Worker</div></div>\n')
    raw = headers(JO.replace("council.example.test", "gmail.example.test"), "escalations@partnership.example.test",
                  "Escalation re LCS-204117", "<CAJ8x+Hq3m7dLpQ2vT5sUe1=Nd9kRz@mail.gmail.com>") \
        + alternative(plain, html, "0000000000004f1a2b061a2c3d4e", plain_cte="7bit", html_cte="quoted-printable")
    fixture("intake_gmail_bold_labels.eml", raw, **INTAKE, errors=[], warnings=[], must_not_contain=LEAKS, fields=STD)


def iphone_intake() -> None:
    rows = form(category="threshold", date_of_decision="Friday 20th November 2026", raised_by="Jo Bloggs, Social Worker, Children's Services")
    text = "Escalation as agreed with my manager\n\n" + lines(rows, "{label} - {value}") + "\n\nSent from my iPhone"
    raw = headers(JO, "escalations@partnership.example.test", "Escalation",
                  "<8C1F2E3D-4B5A-6978-8A9B-0C1D2E3F4A5B@council.example.test>", "X-Mailer: iPhone Mail (21F90)\n") \
        .replace("MIME-Version: 1.0\n", "Content-Type: text/plain;\n\tcharset=us-ascii\nContent-Transfer-Encoding: 7bit\nMime-Version: 1.0 (1.0)\n") \
        + "\n" + text + "\n"
    fixture("intake_iphone_dash_labels.eml", raw, **INTAKE, errors=[], warnings=[], must_not_contain=LEAKS,
            fields={**STD, "raised_by": {"name": "Jo Bloggs", "email": "jo.bloggs@council.example.test"}})


def android_intake() -> None:
    text = lines(form(date_of_decision="20.11.2026")) + "\n\nSent from my Galaxy"
    raw = headers(JO, "escalations@partnership.example.test", "New escalation", "<a1b2c3d4-e5f6@email.android.com>") \
        + single(text, cte="base64")
    fixture("intake_android_base64.eml", raw, **INTAKE, errors=[], warnings=[], must_not_contain=LEAKS, fields=STD)


def iso_intake() -> None:
    rows = form(reasons="Parents report £200 arrears; the café visit was cancelled.", decision_disputed="Refusal of a CIN assessment – décision made by the team.")
    text = lines(rows) + "\n\nRegards,\nJo"
    raw = headers(JO, "escalations@partnership.example.test", "=?iso-8859-1?Q?Escalation_=96_caf=E9?=", "<20261124091233.4471@council.example.test>",
                  "X-Mailer: Microsoft Outlook 16.0\n") + single(text.replace("–", "-"), charset="iso-8859-1")
    fixture("intake_iso_8859_1.eml", raw, **INTAKE, errors=[], warnings=[],
            fields={**STD, "reasons": "Parents report £200 arrears; the café visit was cancelled.",
                    "decision_disputed": "Refusal of a CIN assessment - décision made by the team."})


def forward_outlook_intake() -> None:
    inner = lines(form()) + "\n\n" + SIGNATURE
    text = ("Please see the escalation below from my worker, sent to me in error.\n\nThanks,\nAmy\n\n"
            + outlook_reply_block_text(JO, "23 November 2026 16:40", "Amy Lee <amy.lee@council.example.test>",
                                       "Escalation - LCS-204117", inner.split("\n")))
    raw = outlook_headers("Amy Lee <amy.lee@council.example.test>", "FW: Escalation - LCS-204117",
                          "<DB9PR01MB7713FFEE0011@DB9PR01MB7713.eurprd01.prod.exchangelabs.com>") + single(text, charset="us-ascii")
    fixture("intake_forward_outlook.eml", raw, **INTAKE, errors=[], warnings=[], must_not_contain=LEAKS, fields=STD)


def forward_gmail_intake() -> None:
    text = ("FYI - forwarding Jo's escalation.\n\n---------- Forwarded message ---------\nFrom: " + JO +
            "\nDate: Mon, 23 Nov 2026 at 16:40\nSubject: Escalation\nTo: <amy.lee@council.example.test>\n\n\n"
            + lines(form(raised_by="Jo Bloggs, Social Worker, Children's Services")) + "\n")
    raw = headers("Amy Lee <amy.lee@council.example.test>", "escalations@partnership.example.test", "Fwd: Escalation",
                  "<CAK2y+Fw3d9dLpQ2vT5sUe1=Fw0kRz@mail.gmail.com>") + single(text, charset="UTF-8", cte="7bit")
    fixture("intake_forward_gmail_raiser_without_email.eml", raw, **INTAKE, errors=["raised_by"], warnings=[],
            fields={k: v for k, v in STD.items() if k != "raised_by"})


def docx_intake(docx_b64: str) -> None:
    body = "Hello,\n\nPlease find the escalation form attached.\n\nKind regards\nJo"
    raw = (outlook_headers(JO, "Escalation form attached", "<DB9PR01MB7713D0C5@DB9PR01MB7713.eurprd01.prod.exchangelabs.com>")
           .replace("X-MS-Has-Attach: \n", "X-MS-Has-Attach: yes\n")
           + 'Content-Type: multipart/mixed;\n\tboundary="_004_DB9PR01MB7713D0C5_"\n\n--_004_DB9PR01MB7713D0C5_\n'
           + single(body, charset="us-ascii") + "\n--_004_DB9PR01MB7713D0C5_\n"
           'Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document;\n\tname="Escalation form LCS-204117.docx"\n'
           'Content-Description: Escalation form LCS-204117.docx\nContent-Disposition: attachment;\n'
           '\tfilename="Escalation form LCS-204117.docx"; size=12345;\nContent-Transfer-Encoding: base64\n\n'
           + docx_b64 + "\n\n--_004_DB9PR01MB7713D0C5_--\n")
    fixture("intake_docx_attachment.eml", raw, **INTAKE, errors=[], warnings=[], fields=STD, attachments=1)


def build_docx() -> str:
    import io

    import docx
    document = docx.Document()
    document.add_heading("Inter-agency escalation form", 1)
    document.add_paragraph("Complete every row. Do not name the child.")
    table = document.add_table(rows=0, cols=2)
    for label, value in form():
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, value
    buffer = io.BytesIO()
    document.save(buffer)
    return b64(buffer.getvalue())


def main() -> None:
    for make in (outlook_plain_intake, outlook_table_intake, owa_bullets_intake, gmail_intake, iphone_intake,
                 android_intake, iso_intake, forward_outlook_intake, forward_gmail_intake):
        make()
    docx_intake(build_docx())
    for name, raw, expect in MORE():
        fixture(name, raw, **expect)
    for old in HERE.glob("*.eml"):
        old.unlink()
    expected = {}
    for name, (raw, expect) in sorted(FIXTURES.items()):
        data = raw if isinstance(raw, bytes) else raw.encode("utf-8")
        (HERE / name).write_bytes(data.replace(b"\n", b"\r\n") if expect.pop("crlf", True) else data)
        expected[name] = expect
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(expected)} fixtures")


if __name__ == "__main__":
    main()
