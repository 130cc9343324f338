"""Is the sender who they claim? The receiving server's Authentication-Results (RFC 8601).

Anyone can write an Authentication-Results header into a message, so only the topmost
header(s) written by the receiver the deployment trusts count: the receiver adds its own
above everything the sender wrote. The first header from a trusted receiver, and those
directly below it from the same receiver (one per milter, say), form its verdict;
everything further down (however it is labelled) is ignored.

Receivers partnerships use:
- a self-hosted MX or Google Workspace: the authserv-id is named (`mx.google.com`);
- Exchange Online: its Authentication-Results has *no* authserv-id (it starts with
  `spf=...`), adds `compauth=`, and its ARC-Authentication-Results says `i=1;
  mx.microsoft.com 1; ...`. Trusted only when the deployment says its mail arrives
  through Microsoft (TrustSettings.microsoft).

The rule (`judge`): DMARC must pass for the From domain, aligned (the result's header.from
is the From address's domain), in every DMARC result of the trusted block (two results do
not let the first decide). SPF or DKIM passing, for whatever domain, is not enough. Through
Microsoft, `compauth=fail` refuses whatever DMARC said; of the ARC-Authentication-Results,
only the newest (topmost) counts, and only when mx.microsoft.com wrote it.

The parser is ours: PyPI's `authres` (last release 2019) refuses Microsoft's header, which
has no authserv-id. This one tokenises per RFC 8601/5322: comments (nested) are dropped,
quoted strings are values (a `;` inside one ends nothing), each character read once.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .head import Head, read_head  # noqa: F401  (read_head: in the doctests)

MAX_VALUE_CHARS = 20_000
MICROSOFT_ARC_ID = "mx.microsoft.com"
_METHOD_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}(?:/\d{1,3})?")


@dataclass(frozen=True, slots=True)
class Result:
    """One method's result: `dmarc=pass header.from=example.test` -> ("dmarc", "pass", {...})."""

    method: str
    result: str
    properties: tuple[tuple[str, str], ...] = ()

    def prop(self, name: str) -> str | None:
        return next((v for k, v in self.properties if k == name), None)


@dataclass(frozen=True, slots=True)
class AuthResults:
    """One Authentication-Results header. `authserv_id` is None where Exchange Online writes none."""

    authserv_id: str | None
    results: tuple[Result, ...]


@dataclass(frozen=True, slots=True)
class TrustSettings:
    """Which receiving server's word counts. `authserv_ids`: a self-hosted MX's id, or
    "mx.google.com"; `microsoft`: mail arrives through Exchange Online; `accept_compauth`:
    also accept Microsoft's composite authentication (compauth=pass) where DMARC gave none."""

    authserv_ids: tuple[str, ...] = ()
    microsoft: bool = False
    accept_compauth: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    """trusted: a result from a trusted receiver was found; passed: DMARC passed, aligned."""

    trusted: bool
    passed: bool
    reason: str


def parse_results(value: str, arc: bool = False) -> AuthResults:
    """One header value, read per RFC 8601 (ARC-Authentication-Results: `i=N;` first).

    >>> r = parse_results('mx.example.test (x; y) 1; dmarc=pass (p=none) header.from=a.test; spf=fail')
    >>> r.authserv_id, [(x.method, x.result) for x in r.results]
    ('mx.example.test', [('dmarc', 'pass'), ('spf', 'fail')])
    >>> parse_results("spf=pass smtp.mailfrom=a.test; dmarc=pass action=none header.from=a.test").authserv_id is None
    True
    """
    elements = _elements(value[:MAX_VALUE_CHARS])
    if arc and elements and elements[0] and elements[0][0].lower().startswith("i="):
        elements = elements[1:]
    if not elements or not elements[0]:
        return AuthResults(None, ())
    first = elements[0]
    if "=" in first[0]:  # no authserv-id: the first element is already a result (Exchange Online)
        authserv, rest = None, elements
    else:
        authserv, rest = first[0].lower(), elements[1:]
    return AuthResults(authserv, tuple(r for r in map(_result, rest) if r))


def _elements(value: str) -> list[list[str]]:
    """The `;`-separated elements, each a list of words; comments dropped, quoted strings kept
    as one word (their content, unquoted), `a = b` joined as `a=b`."""
    elements: list[list[str]] = [[]]
    word: list[str] = []
    i, n, depth = 0, len(value), 0

    def end_word():
        if word:
            elements[-1].append("".join(word))
            word.clear()

    while i < n:
        c = value[i]
        if depth:
            depth += (c == "(") - (c == ")")
            i += 2 if c == "\\" else 1
            continue
        if c == "(":
            depth, i = 1, i + 1
            continue
        if c == '"':
            j = i + 1
            while j < n and value[j] != '"':
                if value[j] == "\\":
                    j += 1
                if j < n:
                    word.append(value[j])
                j += 1
            i = j + 1
            continue
        if c == ";":
            end_word()
            elements.append([])
        elif c in " \t\r\n":
            end_word()
        elif c == "=":
            if not word and elements[-1]:
                word.extend(elements[-1].pop())  # "dmarc =pass": rejoin the method
            word.append(c)
            j = i + 1
            while j < n and value[j] in " \t\r\n":
                j += 1  # "dmarc= pass": the value follows
            i = j
            continue
        else:
            word.append(c)
        i += 1
    end_word()
    return [e for e in elements if e]


def _result(words: list[str]) -> Result | None:
    method, sep, result = words[0].lower().partition("=")
    if not sep or not result or not _METHOD_RE.fullmatch(method):
        return None  # not a result (Microsoft's stray "outlook.com;" element, say)
    props = tuple((k.lower(), v) for k, s, v in (w.partition("=") for w in words[1:]) if s and k)
    return Result(method.split("/")[0], result, props)


# --- the verdict ------------------------------------------------------------------------

def trusted_results(head: Head, trust: TrustSettings) -> tuple[Result, ...] | None:
    """The results of the trusted receiver's topmost block, or None if it wrote none. The
    block is the first header from a trusted receiver and those from the same receiver that
    follow it *directly* (no other field between: one header per milter); a header in its
    name further down is anyone's, and would otherwise add a DMARC pass where the receiver
    wrote no DMARC result."""
    ids = {i.lower() for i in trust.authserv_ids}
    trusted = lambda r: (r.authserv_id in ids) or (trust.microsoft and r.authserv_id is None)  # noqa: E731
    block: list[AuthResults] = []
    seen = 0
    for name, value in head.fields:
        if name != "authentication-results":
            if block:
                break
            continue
        parsed = parse_results(value)
        if block and parsed.authserv_id != block[0].authserv_id:
            break
        if block or trusted(parsed):
            block.append(parsed)
        elif (seen := seen + 1) >= 50:
            break
    if block:
        return tuple(x for r in block for x in r.results)
    if trust.microsoft and head.arc_auth_results:
        top = parse_results(head.arc_auth_results[0], arc=True)  # the newest instance only: ones
        if top.authserv_id == MICROSOFT_ARC_ID:                   # below it anyone could have written
            return top.results
    return None


def judge(head: Head | None, trust: TrustSettings) -> Verdict:
    """May this message change a case, by its receiving server's word?

    >>> h = read_head(b"From: a@council.example.test\\r\\nAuthentication-Results: mx.example.test;"
    ...               b" dmarc=pass header.from=council.example.test\\r\\n\\r\\n")
    >>> judge(h, TrustSettings(authserv_ids=("mx.example.test",)))
    Verdict(trusted=True, passed=True, reason='dmarc=pass for council.example.test')
    """
    if head is None:
        return Verdict(False, False, "no header block was read")
    results = trusted_results(head, trust)
    if results is None:
        return Verdict(False, False, "no Authentication-Results from a trusted receiving server")
    domain = (head.author.address or "").rpartition("@")[2]
    if not domain:
        return Verdict(True, False, "no single From address to check DMARC against")
    return _dmarc(results, domain, trust)


def _dmarc(results: tuple[Result, ...], domain: str, trust: TrustSettings) -> Verdict:
    if trust.microsoft and any(r.method == "compauth" and r.result == "fail" for r in results):
        return Verdict(True, False, "compauth=fail (Exchange Online judged the sender spoofed)")
    dmarc = [r for r in results if r.method == "dmarc"]
    if not dmarc:
        compauth = [r for r in results if r.method == "compauth"]
        if trust.accept_compauth and compauth and all(r.result == "pass" for r in compauth):
            return Verdict(True, True, "compauth=pass (no DMARC result)")
        return Verdict(True, False, "the receiving server gave no DMARC result (SPF or DKIM alone is not enough)")
    for r in dmarc:
        if r.result != "pass":
            return Verdict(True, False, f"dmarc={r.result}")
        aligned = _domain(r.prop("header.from") or "")
        if aligned != _domain(domain):
            return Verdict(True, False, f"dmarc=pass was for {aligned or 'no domain'}, not the From domain {domain}")
    return Verdict(True, True, f"dmarc=pass for {domain}")


def _domain(value: str) -> str:
    value = value.strip().strip("<>").rpartition("@")[2].strip(".").lower()
    try:
        return value.encode("idna").decode("ascii") if not value.isascii() else value
    except UnicodeError:
        return value
