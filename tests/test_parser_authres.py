"""Authentication-Results as the receivers partnerships use write them, and the judge's rule:
DMARC must pass for the From domain, aligned, in the trusted receiver's topmost block.

The header values follow the formats of Exchange Online (no authserv-id, compauth, ARC from
mx.microsoft.com), Google Workspace (mx.google.com) and a self-hosted Postfix + OpenDMARC MX;
people and domains are invented."""
from __future__ import annotations

import pytest

from parser import parse_message
from parser.authres import TrustSettings, judge, parse_results
from parser.head import read_head

FROM = "Jo Bloggs <jo.bloggs@council.example.test>"
EXCHANGE = ("spf=pass (sender IP is 192.0.2.41) smtp.mailfrom=council.example.test; dkim=pass (signature was\r\n"
            " verified) header.d=council.example.test;dmarc=pass action=none\r\n"
            " header.from=council.example.test;compauth=pass reason=100")
EXCHANGE_ARC = ("i=1; mx.microsoft.com 1; spf=pass smtp.mailfrom=council.example.test; dmarc=pass action=none\r\n"
                " header.from=council.example.test; dkim=pass header.d=council.example.test; arc=none")
GOOGLE = ("mx.google.com;\r\n       dkim=pass header.i=@council.example.test header.s=sel1 header.b=Xy12AbCd;\r\n"
          "       spf=pass (google.com: domain of jo.bloggs@council.example.test designates 192.0.2.7 as permitted"
          " sender) smtp.mailfrom=jo.bloggs@council.example.test;\r\n"
          "       dmarc=pass (p=QUARANTINE sp=QUARANTINE dis=NONE) header.from=council.example.test")
SELF_HOSTED = ("mx.partnership.example.test; dkim=pass (2048-bit key; unprotected) header.d=council.example.test"
               " header.i=@council.example.test header.b=\"Ab1/Cd2+\"; dmarc=pass (p=reject dis=none)"
               " header.from=council.example.test")
MX = TrustSettings(authserv_ids=("mx.partnership.example.test",))
GMAIL = TrustSettings(authserv_ids=("mx.google.com",))
M365 = TrustSettings(microsoft=True)


def head(*fields: tuple[str, str], sender: str = FROM):
    raw = "".join(f"{n}: {v}\r\n" for n, v in fields) + f"From: {sender}\r\nSubject: x\r\n\r\nbody"
    return read_head(raw.encode())


def test_exchange_online_header_has_no_authserv_id():
    parsed = parse_results(EXCHANGE)
    assert parsed.authserv_id is None
    assert [(r.method, r.result) for r in parsed.results] == [
        ("spf", "pass"), ("dkim", "pass"), ("dmarc", "pass"), ("compauth", "pass")]
    assert parsed.results[2].prop("header.from") == "council.example.test"


def test_quoted_values_comments_and_nested_comments_end_nothing():
    value = ('mx.partnership.example.test (a (nested; comment) here) 1; smtp.x=1; '
             'dmarc=fail (p=reject; "quoted") header.from="x;dmarc=pass"@council.example.test')
    results = parse_results(value).results
    assert [(r.method, r.result) for r in results] == [("dmarc", "fail")]


@pytest.mark.parametrize("fields, trust, passed, why", [
    ([("Authentication-Results", SELF_HOSTED)], MX, True, "dmarc=pass for council.example.test"),
    ([("Authentication-Results", GOOGLE)], GMAIL, True, "dmarc=pass for council.example.test"),
    ([("Authentication-Results", EXCHANGE)], M365, True, "dmarc=pass for council.example.test"),
    ([("ARC-Authentication-Results", EXCHANGE_ARC)], M365, True, "dmarc=pass for council.example.test"),
    # Microsoft's header means nothing to a deployment that did not say its mail comes that way
    ([("Authentication-Results", EXCHANGE)], MX, False, "no Authentication-Results from a trusted"),
    # DMARC passing for the attacker's own domain is not DMARC for the From domain
    ([("Authentication-Results", "mx.partnership.example.test; dmarc=pass header.from=evil.example")], MX, False,
     "dmarc=pass was for evil.example"),
    # SPF and DKIM passing, no DMARC result: not enough
    ([("Authentication-Results", "mx.partnership.example.test; spf=pass smtp.mailfrom=evil.example; dkim=pass "
                                 "header.d=evil.example")], MX, False, "gave no DMARC result"),
    # two DMARC results: the first does not decide
    ([("Authentication-Results", "mx.partnership.example.test; dmarc=pass header.from=council.example.test; "
                                 "dmarc=fail header.from=council.example.test")], MX, False, "dmarc=fail"),
    # a receiver writing one header per milter: the block counts as one
    ([("Authentication-Results", "mx.partnership.example.test; dkim=pass header.d=council.example.test"),
      ("Authentication-Results", "mx.partnership.example.test; dmarc=fail header.from=council.example.test")],
     MX, False, "dmarc=fail"),
    # a forged pass below the real result is ignored, even with the trusted id
    ([("Authentication-Results", "mx.partnership.example.test; dmarc=fail header.from=council.example.test"),
      ("Received", "from evil.example by mx.partnership.example.test"),
      ("Authentication-Results", "mx.partnership.example.test; dmarc=pass header.from=council.example.test")],
     MX, False, "dmarc=fail"),
    # Exchange's own header is on top; a header without id the sender wrote lower down is not
    ([("Authentication-Results", EXCHANGE.replace("dmarc=pass", "dmarc=fail")),
      ("Received", "from evil.example"), ("Authentication-Results", EXCHANGE)], M365, False, "dmarc=fail"),
    # the receiver gave no DMARC result (the domain publishes none): a pass in its name further
    # down is the sender's own, however near, and adds nothing
    ([("Authentication-Results", "mx.google.com; dkim=pass header.i=@evil.example; spf=pass smtp.mailfrom=evil.example"),
      ("Received", "from mail.evil.example by mx.google.com"),
      ("Authentication-Results", "mx.google.com; dmarc=pass header.from=council.example.test")], GMAIL, False,
     "gave no DMARC result"),
    ([("Authentication-Results", "evil.example; dmarc=pass header.from=council.example.test")], MX, False,
     "no Authentication-Results from a trusted"),
    ([("Authentication-Results", EXCHANGE.replace("dmarc=pass", "dmarc=bestguesspass"))], M365, False,
     "dmarc=bestguesspass"),
])
def test_the_judge(fields, trust, passed, why):
    verdict = judge(head(*fields), trust)
    assert verdict.passed is passed
    assert why in verdict.reason


def test_compauth_counts_only_when_the_deployment_accepts_it():
    value = "spf=none smtp.mailfrom=council.example.test; dkim=none; dmarc=none; compauth=pass reason=130"
    no_dmarc = value.replace(" dmarc=none;", "")
    assert not judge(head(("Authentication-Results", value)), M365).passed
    assert judge(head(("Authentication-Results", no_dmarc)), TrustSettings(microsoft=True, accept_compauth=True)).passed


def test_the_encoded_word_disguise_fails_dmarc_for_the_party_it_names():
    # the attacker owns evil.example, so DMARC passes there: the verdict is about the real From
    disguised = "=?utf-8?q?Sam_Carter_=3Csam.carter=40health.example.test=3E?= <attacker@evil.example>"
    h = head(("Authentication-Results", "mx.partnership.example.test; dmarc=pass header.from=evil.example"),
             sender=disguised)
    assert h.sender is None and h.author.mailboxes[0].address == "attacker@evil.example"
    assert judge(h, MX).passed is False  # an ambiguous From is never judged as anyone's


def test_no_head_or_no_single_from_never_passes():
    assert not judge(None, MX).passed
    h = head(("Authentication-Results", SELF_HOSTED), sender="a@council.example.test, b@council.example.test")
    assert judge(h, MX).reason == "no single From address to check DMARC against"


def test_parse_message_exposes_the_head_for_the_tracker():
    raw = f"Authentication-Results: {SELF_HOSTED}\r\nFrom: {FROM}\r\nSubject: [ESC-2026-0042] x\r\n\r\nUPDATE: ok"
    parsed = parse_message(raw.encode())
    assert judge(parsed.head, MX).passed


def test_through_microsoft_compauth_fail_refuses_whatever_dmarc_said():
    value = EXCHANGE.replace("compauth=pass reason=100", "compauth=fail reason=000")
    verdict = judge(head(("Authentication-Results", value)), M365)
    assert not verdict.passed and "compauth=fail" in verdict.reason
    assert judge(head(("Authentication-Results", value)), MX).reason.startswith("no Authentication-Results")


def test_only_the_newest_arc_results_count_and_only_from_microsoft():
    other = EXCHANGE_ARC.replace("i=1; mx.microsoft.com", "i=2; mx.evil.example")
    assert not judge(head(("ARC-Authentication-Results", other), ("ARC-Authentication-Results", EXCHANGE_ARC)),
                     M365).passed  # a Microsoft-looking instance below another server's is anyone's to write
    assert judge(head(("ARC-Authentication-Results", EXCHANGE_ARC)), M365).passed
    assert not judge(head(("ARC-Authentication-Results", EXCHANGE_ARC)), GMAIL).passed
