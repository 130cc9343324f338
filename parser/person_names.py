"""People's full names in the words of an escalation (for parser/personal_data.py).

A full name is a given name from gender-guesser's dictionary (~45,000 first names across 50
countries, read once when first needed) followed by a surname; or a given name the dictionary
lacks before a common UK surname (personal_words.txt); or any capitalised name after a title
("Mrs Jones") or a family role ("the mother, Kerry Smith"). A run of capitalised words that
goes on into an organisation or a place ("Royal Wolverhampton NHS Trust", "Mohammed Ali Way")
is not a person, and the professionals the form or the case names are never flagged.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

_TITLE = r"(?:Mr|Mrs|Ms|Miss|Mx|Master)\.?"
_CAP = r"(?:Mc|Mac|O'|O’)?[A-Z][a-z'’]{1,30}(?:-[A-Z][a-z'’]{1,30})?"
# Runs of spaces are bounded ({1,3}): unbounded ones either side of an optional token try
# every split of a long run of spaces (tests/test_parser_bounded.py).
_TITLED_RE = re.compile(rf"\b{_TITLE}\s{{1,3}}(?:[A-Z]\.?\s{{1,3}})?{_CAP}(?:\s{{1,3}}{_CAP})?")
_ROLE = (r"(?:mother|mum|mom|father|dad|step-?(?:mother|father|dad|mum)|grand(?:mother|father|ma|pa|parent)|nan|"
         r"grandad|partner|boyfriend|girlfriend|husband|wife|brother|sister|sibling|child|son|daughter|baby|uncle|"
         r"aunt|auntie|cousin|carer|guardian|young\s{1,3}person|client|service\s{1,3}user|adult|resident|pupil|student|"
         r"named|called|known\s{1,3}as)")
_ROLE_NAME_RE = re.compile(rf"(?i:\b{_ROLE}(?:'s|’s)?(?:\s{{1,3}}(?:full\s{{1,3}})?name(?:\s{{1,3}}is)?)?)"
                           rf"[\s,:\-–(]{{1,6}}({_CAP}(?:\s{{1,3}}{_CAP}){{1,2}})")
_CAP_RUN_RE = re.compile(rf"\b{_CAP}(?:\s{{1,3}}(?:[A-Z]\.?\s{{1,3}})?{_CAP}){{1,3}}")

_DATA = Path(__file__).resolve().parent / "personal_words.txt"


@functools.lru_cache(maxsize=1)
def words() -> tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]:
    """(given names, words never part of a name, words that end an organisation or place,
    common surnames in the UK).
    The given names are read from gender-guesser's dictionary once, when first needed."""
    from importlib.resources import files

    names = set()
    with files("gender_guesser").joinpath("data/nam_dict.txt").open(encoding="utf-8") as f:
        for line in f:
            if line[:1] not in "#=" and len(line) > 30:
                for part in line[3:29].strip().replace("+", " ").split():
                    names.add(part)
    sets: dict[str, set[str]] = {"never": set(), "places": set(), "surnames": set()}
    target = sets["never"]
    for line in _DATA.read_text(encoding="utf-8").splitlines():
        if line.startswith("[") and line.strip("[]") in sets:
            target = sets[line.strip("[]")]
        elif line and not line.startswith("#"):
            target.update(w.lower() for w in line.split())
    never = sets["never"]
    return (frozenset(names - {w.capitalize() for w in never}), frozenset(never), frozenset(sets["places"]),
            frozenset(sets["surnames"] - never))


@functools.lru_cache(maxsize=1024)  # once for the people of an intake or case, not once for each field
def known_parts(known: tuple[str, ...]) -> tuple[set[str], set[str]]:
    """The professionals' full names and their surnames, lower-cased."""
    full, last = set(), set()
    for name in known:
        tokens = re.findall(r"[A-Za-z][A-Za-z'’\-]+", name or "")
        if tokens:
            full.add(" ".join(tokens).lower())
            last.add(tokens[-1].lower())
    return full, last


def is_known(tokens: list[str], full: set[str], last: set[str]) -> bool:
    low = [re.sub(r"['’]s$", "", t.lower().strip(".")) for t in tokens]  # "Ms Varga's" is Ms Varga
    return " ".join(low) in full or (low[-1] in last and (len(low) == 1 or any(" ".join(low) in f or
                                                                                  f.startswith(low[0]) for f in full)))


def name_spans(text: str, known: tuple[str, ...]) -> list[tuple[str, int, int]]:
    """("name", start, end) of each person's full name in `text`, but the `known` professionals'."""
    names, never, places, surnames = words()
    full, last = known_parts(known)
    out = []

    def add(start: int, end: int, tokens: list[str]) -> None:
        if tokens and not is_known(tokens, full, last):
            out.append(("name", start, end))

    for m in _TITLED_RE.finditer(text):
        add(m.start(), m.end(), m.group().split()[1:])
    for m in _ROLE_NAME_RE.finditer(text):
        tokens = m.group(1).split()
        if not any(t.lower() in never or t.lower() in places for t in tokens):
            add(m.start(1), m.end(1), tokens)
    for m in _CAP_RUN_RE.finditer(text):
        run = _person_in(m.group().split(), text[m.end():m.end() + 40], names, surnames, never, places)
        if run:
            start = m.start() + m.group().index(run[0])
            add(start, start + len(" ".join(run)), run)
    return out


_AFTER_RE = re.compile(r"^ +([A-Za-z'’]+)")
_ORGANISATION_ACRONYMS = frozenset({"NHS", "CCG", "ICB", "CAMHS", "CIC", "PLC", "LTD", "LLP", "UK", "CVS"})


def given(token: str, names: frozenset[str]) -> bool:
    return token in names or ("-" in token and any(part.capitalize() in names for part in token.split("-")))


def _person_in(tokens: list[str], after: str, names, surnames, never, places) -> list[str] | None:
    """The tokens of a run of capitalised words that make a person's full name: from a given
    name (or before a common surname) up to the next word that is not part of a name. A run
    that goes on into an organisation or a place ("Royal Wolverhampton NHS Trust", "Mohammed
    Ali Way") is not a person."""
    tokens = [t for t in tokens if len(t.rstrip(".")) > 1]
    low = [t.lower() for t in tokens]
    cut = next((i for i, t in enumerate(low) if t in never or (t in places and t not in surnames)), len(tokens))
    if cut < len(tokens) and low[cut] in places:
        return None
    following = _AFTER_RE.match(after)
    word = following.group(1) if following else ""
    if cut == len(tokens) and (word.lower() in places or word in _ORGANISATION_ACRONYMS):
        return None
    tokens = tokens[:cut]
    for i in range(len(tokens) - 1):
        if tokens[i].lower() in never:
            continue
        if given(tokens[i], names) or tokens[i + 1].lower() in surnames:
            return tokens[i:]
    return None
