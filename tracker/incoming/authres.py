"""Is the sender who they claim? Read Authentication-Results (RFC 8601) from our own
receiving server only.

Anyone can write an Authentication-Results header into a message, so only headers whose
authserv-id is in the trusted list count, and of those only the topmost: the receiving
server adds its own above everything the sender wrote (and should strip look-alikes).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

_COMMENT = re.compile(r"\([^()]*\)")
_RESULT = re.compile(r"^\s*([a-z0-9_-]+)\s*=\s*([a-z]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    trusted: bool  # a header from a trusted server was found
    passed: bool
    reason: str


def parse(header: str) -> tuple[str, dict[str, str]]:
    """('mx.example.test', {'dmarc': 'pass', 'dkim': 'fail', ...}) from one header value."""
    text = header
    for _ in range(5):  # comments may nest a little
        text = _COMMENT.sub("", text)
    parts = [p.strip() for p in text.replace("\r", " ").replace("\n", " ").split(";")]
    authserv = parts[0].split()[0].lower() if parts and parts[0].split() else ""
    results: dict[str, str] = {}
    for part in parts[1:]:
        m = _RESULT.match(part)
        if m and m.group(1).lower() not in results:
            results[m.group(1).lower()] = m.group(2).lower()
    return authserv, results


def judge(headers: Sequence[str], trusted_ids: Sequence[str]) -> Verdict:
    """DMARC must pass when the trusted server evaluated it; without DMARC, DKIM or SPF must."""
    trusted = {t.lower() for t in trusted_ids}
    for value in headers:
        authserv, results = parse(value)
        if authserv not in trusted:
            continue
        if "dmarc" in results:
            ok = results["dmarc"] == "pass"
            return Verdict(True, ok, f"dmarc={results['dmarc']}")
        ok = results.get("dkim") == "pass" or results.get("spf") == "pass"
        return Verdict(True, ok, f"dkim={results.get('dkim', 'none')}, spf={results.get('spf', 'none')}")
    return Verdict(False, True, "no result from a trusted server")
