"""Helpers for make_fixtures.py: write MIME the way each mail client does (invented people only)."""
from __future__ import annotations

import base64
import quopri

OUR_NOTICE_ID = "<ESC-2026-0042.notice.3f9a1c@escalations.invalid>"
DATE = "Tue, 24 Nov 2026 09:12:33 +0000"

FORM = [
    ("Case reference", "LCS-204117"),
    ("About", "Child"),
    ("Immediate risk", "No"),
    ("Category", "Threshold / level of need"),
    ("Raised by", "Jo Bloggs, Social Worker, Children's Services <jo.bloggs@council.example.test>"),
    ("My manager", "Amy Lee <amy.lee@council.example.test>"),
    ("Disagreement with", "Sam Carter, Health Visitor, Community Health <sam.carter@health.example.test>"),
    ("Their manager", "Priya Nair <priya.nair@health.example.test>"),
    ("Decision disputed", "Health visiting closed their involvement after one missed visit."),
    ("Date of decision", "20/11/2026"),
    ("Reasons", "Three missed appointments since September and the nursery reports weight loss."),
    ("Outcome sought", "Health visiting to reopen and attend the child in need meeting."),
    ("Discussions so far", "Phoned Sam on 23/11/2026; no agreement."),
]


def form(**changes: str | None) -> list[tuple[str, str]]:
    """FORM with values replaced (key = label lower-cased, spaces as _) or dropped (None)."""
    out = []
    for label, value in FORM:
        key = label.lower().replace(" ", "_")
        if key in changes:
            if changes[key] is None:
                continue
            value = changes[key]
        out.append((label, value))
    return out


def qp(text: str, charset: str = "utf-8") -> str:
    data = text.replace("\n", "\r\n").encode(charset)
    return quopri.encodestring(data).decode("ascii").replace("\r\n", "\n")


def b64(data: bytes | str, charset: str = "utf-8") -> str:
    if isinstance(data, str):
        data = data.replace("\n", "\r\n").encode(charset)
    enc = base64.b64encode(data).decode()
    return "\n".join(enc[i:i + 76] for i in range(0, len(enc), 76))


def headers(frm: str, to: str, subject: str, msgid: str, extra: str = "", date: str = DATE) -> str:
    return (f"From: {frm}\nTo: {to}\nSubject: {subject}\nDate: {date}\nMessage-ID: {msgid}\n"
            f"{extra}MIME-Version: 1.0\n")


def outlook_headers(frm, subject, msgid, extra=""):
    return headers(frm, "Escalations <escalations@partnership.example.test>", subject, msgid,
                   "Thread-Topic: " + subject.split(": ", 1)[-1] + "\nThread-Index: AQHZx2kLmN0pQ7rT8UeVbWk3s9f1Qg==\n"
                   "Accept-Language: en-GB, en-US\nContent-Language: en-GB\nX-MS-Has-Attach: \n"
                   "X-MS-TNEF-Correlator: \nAuthentication-Results: mx.partnership.example.test; "
                   "spf=pass smtp.mailfrom=council.example.test; dkim=pass header.d=council.example.test\n" + extra)


OUTLOOK_HEAD = """<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:w="urn:schemas-microsoft-com:office:word" xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" xmlns="http://www.w3.org/TR/REC-html40">
<head>
<meta http-equiv="Content-Type" content="text/html; charset={charset}">
<meta name="Generator" content="Microsoft Word 15 (filtered medium)">
<style><!--
/* Font Definitions */
@font-face
	{{font-family:"Cambria Math";
	panose-1:2 4 5 3 5 4 6 3 2 4;}}
p.MsoNormal, li.MsoNormal, div.MsoNormal
	{{margin:0cm;
	font-size:11.0pt;
	font-family:"Calibri",sans-serif;}}
span.EmailStyle17
	{{mso-style-type:personal-compose;}}
--></style><!--[if gte mso 9]><xml>
<o:shapedefaults v:ext="edit" spidmax="1026" />
</xml><![endif]-->
</head>
<body lang="EN-GB" link="#0563C1" vlink="#954F72" style="word-wrap:break-word">
<div class="WordSection1">
"""
OUTLOOK_FOOT = "</div>\n</body>\n</html>\n"


def mso(text: str) -> str:
    return f'<p class="MsoNormal">{text}<o:p></o:p></p>\n' if text else '<p class="MsoNormal"><o:p>&nbsp;</o:p></p>\n'


def outlook_html(paragraphs: list[str], charset: str = "us-ascii", tail: str = "") -> str:
    return OUTLOOK_HEAD.format(charset=charset) + "".join(mso(p) for p in paragraphs) + tail + OUTLOOK_FOOT


def outlook_table(rows: list[tuple[str, str]]) -> str:
    cells = "".join(
        '<tr>\n<td width="180" valign="top" style="width:135.0pt;border:solid windowtext 1.0pt;padding:0cm 5.4pt 0cm 5.4pt">\n'
        f'<p class="MsoNormal"><b>{label}<o:p></o:p></b></p>\n</td>\n'
        '<td width="420" valign="top" style="width:315.0pt;border:solid windowtext 1.0pt;border-left:none;padding:0cm 5.4pt 0cm 5.4pt">\n'
        + "".join(mso(part) for part in value.split("\n")) + "</td>\n</tr>\n"
        for label, value in rows)
    return ('<table class="MsoTableGrid" border="1" cellspacing="0" cellpadding="0" '
            'style="border-collapse:collapse;border:none">\n<tbody>\n' + cells + "</tbody>\n</table>\n")


def outlook_reply_block_html(frm: str, sent: str, to: str, subject: str, body: list[str]) -> str:
    return ('<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">\n'
            f'<p class="MsoNormal"><b><span lang="EN-US">From:</span></b><span lang="EN-US"> {frm}<br>\n'
            f'<b>Sent:</b> {sent}<br>\n<b>To:</b> {to}<br>\n<b>Subject:</b> {subject}<o:p></o:p></span></p>\n'
            "</div>\n" + "".join(mso(p) for p in body))


def outlook_reply_block_text(frm: str, sent: str, to: str, subject: str, body: list[str]) -> str:
    return f"From: {frm}\nSent: {sent}\nTo: {to}\nSubject: {subject}\n\n" + "\n".join(body) + "\n"


def alternative(plain: str, html: str, boundary: str, plain_cte="quoted-printable", html_cte="quoted-printable",
                charset="utf-8", plain_params="") -> str:
    def enc(text, cte):
        return qp(text, charset) if cte == "quoted-printable" else b64(text, charset) if cte == "base64" else text
    return (f'Content-Type: multipart/alternative;\n\tboundary="{boundary}"\n\n'
            f"--{boundary}\nContent-Type: text/plain; charset=\"{charset}\"{plain_params}\n"
            f"Content-Transfer-Encoding: {plain_cte}\n\n{enc(plain, plain_cte)}\n"
            f"--{boundary}\nContent-Type: text/html; charset=\"{charset}\"\n"
            f"Content-Transfer-Encoding: {html_cte}\n\n{enc(html, html_cte)}\n--{boundary}--\n")


def single(text: str, ctype="text/plain", charset="utf-8", cte="quoted-printable", params="") -> str:
    body = qp(text, charset) if cte == "quoted-printable" else b64(text, charset) if cte == "base64" else text
    return (f'Content-Type: {ctype}; charset="{charset}"{params}\nContent-Transfer-Encoding: {cte}\n\n{body}\n')


def lines(rows: list[tuple[str, str]], fmt: str = "{label}: {value}") -> str:
    return "\n".join(fmt.format(label=label, value=value) for label, value in rows)


SIGNATURE = """Kind regards

Jo Bloggs
Social Worker | Children's Services
Example Council
Tel: 01632 960 123"""
DISCLAIMER = """DISCLAIMER: This email and any attachments are confidential and intended solely for the
addressee. If you have received this email in error please notify the sender and delete it."""
