"""Finding what identifies a child or adult in the text of an escalation or a reply (full
names in parser/person_names.py).

The secure inbox must not carry personally identifiable information (Wiltshire: "these
email addresses must not be used for sending personally identifiable information",
"Remember to anonymise the client"). What is found here is held back by the service
before anything is sent (tracker/incoming, tracker/stages/machine.py); each `Passage`
names its field, the words, and how to anonymise them.

What counts, each a rule of its own:
- a name used as the case reference;
- a date of birth (a date after "DOB", "born", "date of birth"...);
- an NHS number: ten digits passing the mod-11 check digit (or any ten digits after "NHS");
- a street address (a house number, or "lives at", before a street) or a full UK postcode;
- a phone number: `phonenumbers` (Google's libphonenumber data) judges what the pattern
  finds, and the published front doors (MASH, IFD, 999, 101, 111) are left alone;
- a person's full name: a given name from gender-guesser's dictionary of ~45,000 first
  names (Jörg Michael's, across 50 countries: the names of the UK's families are not all
  English ones) followed by a surname, or any capitalised name after a title (Mrs Jones)
  or a family role ("the mother, Kerry Smith").
The professionals the form or the case names are never flagged (`known`). No statistical
named-entity model is used: the PyPI packages that ship one (spaCy's models are not on
PyPI; third-party re-uploads are) weigh 40-500 MB, and an error there is not one a worker
can be told how to fix; the rules here can each be named in the reply.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import phonenumbers

from .model import Issue
from .person_names import given, is_known, known_parts, name_spans, words

MAX_CHARS = 50_000
PUBLISHED_NUMBERS = frozenset({"01902555392", "01902551199", "01403229900", "999", "111", "101"})

WHAT = {
    "name_reference": "a name used as the case reference",
    "dob": "a date of birth",
    "nhs": "an NHS number",
    "address": "a street address",
    "postcode": "a postcode",
    "phone": "a phone number",
    "name": "a person's full name",
}
HOW = {
    "name_reference": "use your agency's anonymised reference (the case number in your own system), "
                      "never the child's or adult's name",
    "dob": "give the age instead (for example 'aged 7')",
    "nhs": "leave the NHS number out: the agencies match the case by its reference",
    "address": "write 'the family home' or the area instead (for example 'in the north of the city')",
    "postcode": "leave the postcode out, or give the area instead",
    "phone": "leave the number out: the parties can ask for it through their own secure channels",
    "name": "write the person's role instead (for example 'the mother', 'the child', 'mum's partner')",
}


@dataclass(frozen=True, slots=True)
class Passage:
    """Words in a field that seem to identify someone."""

    field: str
    kind: str  # a key of WHAT
    words: str

    @property
    def what(self) -> str:
        return WHAT[self.kind]

    @property
    def how(self) -> str:
        return HOW[self.kind]


# --- dates of birth ------------------------------------------------------------------------
_MONTHS = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|" \
          r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
# Every run of spaces below is bounded ({1,3}, {0,6}): hostile text is normal input, and two
# unbounded runs either side of an optional token try every split of a long run of spaces.
_DATE = (rf"(?:\d{{1,2}}[/.\-]\d{{1,2}}[/.\-]\d{{2,4}}|\d{{4}}-\d{{2}}-\d{{2}}"
         rf"|(?:the\s{{1,3}})?\d{{1,2}}(?:st|nd|rd|th)?\s{{1,3}}(?:of\s{{1,3}})?{_MONTHS}\.?,?\s{{1,3}}\d{{2,4}}"
         rf"|{_MONTHS}\.?\s{{1,3}}\d{{1,2}}(?:st|nd|rd|th)?,?\s{{1,3}}\d{{4}}|{_MONTHS}\.?\s{{1,3}}\d{{4}}"
         rf"|(?<=in\s)\d{{4}})")
_DOB_RE = re.compile(
    rf"\b(?:d\.?\s?o\.?\s?b\b\.?|date\s{{1,3}}of\s{{1,3}}birth|birth\s{{0,2}}date|birthday"
    rf"|born(?:\s{{1,3}}(?:on|in))?)(?:\s{{1,3}}(?:is|was))?[\s:\-–(]{{0,6}}({_DATE})", re.IGNORECASE)

# --- NHS numbers ---------------------------------------------------------------------------
_TEN_DIGITS_RE = re.compile(r"(?<![\w-])(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?![\w-])")
_NHS_CUE_RE = re.compile(r"\bnhs\b[^\n\d]{0,20}$", re.IGNORECASE)

# --- addresses -----------------------------------------------------------------------------
_POSTCODE_RE = re.compile(r"(?<![\w-])(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-HJKPSTUW\d]? ?\d[ABD-HJLNP-UW-Z]{2})(?![\w-])",
                          re.IGNORECASE)
_SUFFIX = (r"(?:street|st|road|rd|avenue|ave|lane|ln|close|drive|dr|way|crescent|cres|court|ct|place|pl|gardens|gdns"
           r"|grove|terrace|walk|square|sq|mews|hill|rise|row|view|parade|green|park|boulevard|vale|meadows?|fields"
           r"|wharf|yard|chase|croft|end|gate|rd\.|st\.)")
_WORD = r"[A-Za-z][A-Za-z'’\-]{1,30}"
_STREET = rf"(?:{_WORD}\s{{1,3}}){{1,3}}{_SUFFIX}\b\.?"
_ADDRESS_RE = re.compile(
    rf"(?<![\w/.:-])(?:(?:flat|apartment|apt|unit)\s{{1,3}}\d{{1,4}}[a-z]?,?\s{{1,3}})?\d{{1,4}}[a-z]?,?\s{{1,3}}{_STREET}"
    rf"|\b(?:flat|apartment)\s{{1,3}}\d{{1,4}}[a-z]?\b(?:,?\s{{1,3}}{_WORD}(?:\s{{1,3}}{_WORD})?\s{{1,3}}"
    rf"(?:house|court|tower|lodge))?",
    re.IGNORECASE)
_LIVES_RE = re.compile(
    rf"\b(?:lives|living|live|resides|residing|staying|moved|address)\s{{1,3}}(?:at|on|in|to|is)\s{{1,3}}"
    rf"((?:[A-Z][A-Za-z'’\-]{{1,30}}\s{{1,3}}){{1,3}}(?i:{_SUFFIX}|house|court|lodge|cottage|farm)\b)")
_ADDRESS_CUE_RE = re.compile(r"\b(?:home\s{1,3})?address(?:\s{1,3}is)?\s{0,3}[:\-–]\s{0,3}(\S[^\n.;]{3,60})",
                             re.IGNORECASE)

# --- phone numbers -------------------------------------------------------------------------
_PHONE_RE = re.compile(r"(?<![\w+])(?:\+\s?44\s?(?:\(0\)\s?)?|\(?0)\d[\d ()\-]{7,14}\d(?![\w])")
# Ofcom keeps these for drama and examples: never in service, so libphonenumber calls them
# invalid; text that uses them means a phone number all the same.
_DRAMA = ("1632960", "7700900", "2079460", "1134960", "1144960", "1154960", "1164960", "1174960", "1184960",
          "1214960", "1314960", "1414960", "1514960", "1614960", "1914980", "2896496", "2920180", "3069990",
          "8081570", "9098790")

_REFERENCE_WORDS = re.compile(r"^[A-Za-z][A-Za-z'’\-]*(?:[ ,]+[A-Za-z][A-Za-z'’\-.]*){0,3}$")


# --- checks --------------------------------------------------------------------------------
def nhs_checksum_ok(digits: str) -> bool:
    """The NHS number mod-11 check.

    >>> nhs_checksum_ok("9990000018"), nhs_checksum_ok("9990000017")
    (True, False)
    """
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1)))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def _phone(candidate: str) -> bool:
    """A number libphonenumber takes for a real UK (or international) one, or one of Ofcom's
    drama ranges; never a published front door."""
    try:
        number = phonenumbers.parse(candidate, "GB")
    except phonenumbers.NumberParseException:
        return False
    national = str(number.national_number)
    if "0" + national in PUBLISHED_NUMBERS or national in PUBLISHED_NUMBERS:
        return False
    return phonenumbers.is_valid_number(number) or national.startswith(_DRAMA)


def _spans(text: str) -> list[tuple[str, int, int]]:
    """(kind, start, end) of everything found in `text` but names."""
    out = [("dob", m.start(1), m.end(1)) for m in _DOB_RE.finditer(text)]
    for m in _TEN_DIGITS_RE.finditer(text):
        cued = _NHS_CUE_RE.search(text[max(0, m.start() - 25):m.start()])
        if nhs_checksum_ok("".join(m.groups())) or cued:
            out.append(("nhs", m.start(), m.end()))
    out += [("postcode", m.start(), m.end()) for m in _POSTCODE_RE.finditer(text)]
    out += [("address", m.start(), m.end()) for m in _ADDRESS_RE.finditer(text)]
    out += [("address", m.start(1), m.end(1)) for m in _ADDRESS_CUE_RE.finditer(text)]
    out += [("address", m.start(1), m.end(1)) for m in _LIVES_RE.finditer(text)]
    out += [("phone", m.start(), m.end()) for m in _PHONE_RE.finditer(text) if _phone(m.group())]
    return out


def passages(field: str, text: str | None, known: tuple[str, ...] = ()) -> list[Passage]:
    """What in `text` seems to identify someone, in the order it comes, overlaps merged.
    `known`: names of the professionals on the form or the case, never flagged.

    >>> [(p.kind, p.words) for p in passages("reasons", "Jamie Robert Smith, DOB 03/04/2019, lives at 12 Acacia Avenue")]
    [('name', 'Jamie Robert Smith'), ('dob', '03/04/2019'), ('address', '12 Acacia Avenue')]
    """
    if not text:
        return []
    text = text[:MAX_CHARS]
    found = sorted(_spans(text) + name_spans(text, known), key=lambda s: (s[1], -s[2]))
    out: list[Passage] = []
    end = -1
    for kind, start, stop in found:
        if start < end:
            continue  # inside a passage already named (a postcode within an address, say)
        out.append(Passage(field, kind, " ".join(text[start:stop].split())))
        end = stop
    return out


def reference_passages(field: str, value: str | None, known: tuple[str, ...] = ()) -> list[Passage]:
    """A case reference is the agencies' anonymised reference: letters and spaces only that
    read as a person's name (or hold any of the above) are flagged."""
    if not value:
        return []
    found = passages(field, value, known)
    if found:  # a name there is the reference itself: say so, and how to write one
        return [Passage(p.field, "name_reference", p.words) if p.kind == "name" else p for p in found]
    names, never, _, _ = words()
    tokens = [t.strip(".,") for t in value.replace(",", " ").split()]
    if _REFERENCE_WORDS.match(value.strip()[:200]) and not any(t.lower() in never for t in tokens):
        plausible = [t for t in tokens if len(t) > 1]
        if plausible and (any(given(t.capitalize(), names) for t in plausible) or len(plausible) >= 2):
            full, last = known_parts(known)
            if not is_known(plausible, full, last):
                return [Passage(field, "name_reference", " ".join(value.split()))]
    return []


def find_personal_data(text: str) -> list[str]:
    """Kinds (keys of WHAT) found in `text`, each once, in a stable order."""
    kinds = {p.kind for p in passages("text", text)}
    return [k for k in WHAT if k in kinds]


def issue(p: Passage) -> Issue:
    return Issue(p.field, f"possible personal data: {p.what}. The words: “{p.words}”. Please {p.how}: this inbox "
                          "must not carry details that identify a person.")


def warnings_for(field: str, text: str | None, known: tuple[str, ...] = ()) -> list[Issue]:
    return [issue(p) for p in passages(field, text, known)]


def name_as_reference(field: str, value: str | None, known: tuple[str, ...] = ()) -> list[Issue]:
    return [issue(p) for p in reference_passages(field, value, known)]


INTAKE_TEXT = ("decision_disputed", "reasons", "outcome_sought", "discussions")


@functools.lru_cache(maxsize=256)  # the parser's warnings and the service's hold read the same intake
def intake_passages(fields) -> tuple[Passage, ...]:
    """Everything an intake's free text and reference carry that identifies someone, the
    professionals it names (raiser, managers, other party) left alone."""
    known = tuple(p.name for p in (fields.raised_by, fields.raiser_manager, fields.other_party, fields.other_manager)
                  if p is not None and p.name)
    found = reference_passages("case_reference", fields.case_reference, known)
    for name in INTAKE_TEXT:
        found += passages(name, getattr(fields, name), known)
    return tuple(found)
