"""Label values -> IntakeFields, with an Issue for every missing or unreadable value."""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from .categories import match_category
from .dates import parse_uk_date
from .model import CATEGORIES, IntakeFields, Issue, Person
from .people import parse_person
from .personal_data import intake_passages, issue
from .text import join_paragraphs

LABEL_NAMES = {
    "case_reference": "Case reference", "about": "About", "immediate_risk": "Immediate risk",
    "category": "Category", "raised_by": "Raised by", "raiser_manager": "My manager",
    "other_party": "Disagreement with", "other_manager": "Their manager",
    "decision_disputed": "Decision disputed", "decision_date": "Date of decision",
    "reasons": "Reasons", "outcome_sought": "Outcome sought", "discussions": "Discussions so far",
    "looked_after": "Looked after",
}
EXAMPLES = {
    "case_reference": "LCS-123456 (your agency's anonymised reference, never a name)",
    "immediate_risk": "yes or no",
    "category": "one of: " + "; ".join(CATEGORIES),
    "raised_by": "Name, Role, Agency <name@agency.example>",
    "other_party": "Name, Role, Agency <name@agency.example>",
    "decision_disputed": "what was decided, or not done",
    "decision_date": "20/11/2026",
    "reasons": "the evidence-based reasons you disagree",
    "outcome_sought": "what you want to happen",
}
_YES_RE = re.compile(r"^[\W_]*(yes|y|true|no|n|false|none)\b", re.IGNORECASE)


@dataclass(frozen=True)
class FormSource:
    """What the form reader needs to know about the message carrying it."""

    sender: str | None
    forwarded: bool
    sent: datetime.datetime | None


def build_fields(values: dict[str, list[str]], env: FormSource) -> tuple[IntakeFields, list[Issue], list[Issue]]:
    """(fields, errors, warnings) for one intake."""
    text = {f: _clean(join_paragraphs(lines) or "") for f, lines in values.items()}
    errors: list[Issue] = []
    fields = IntakeFields(
        case_reference=_required_text(text, "case_reference", errors),
        about=_about(text.get("about"), errors),
        immediate_risk=_risk(text.get("immediate_risk"), errors),
        category=_category(text.get("category"), errors),
        raised_by=_raiser(text.get("raised_by"), env, errors),
        raiser_manager=_person(text, "raiser_manager", errors, required=False),
        other_party=_person(text, "other_party", errors, required=True),
        other_manager=_person(text, "other_manager", errors, required=False),
        decision_disputed=_required_text(text, "decision_disputed", errors),
        decision_date=_decision_date(text.get("decision_date"), env.sent, errors),
        reasons=_required_text(text, "reasons", errors),
        outcome_sought=_required_text(text, "outcome_sought", errors),
        discussions=text.get("discussions") or None,
        looked_after=_looked_after(text.get("looked_after"), errors),
    )
    return fields, errors, _warnings(fields)


def _clean(value: str) -> str:
    return value.strip(" \t*_").strip()


def _missing(field: str) -> Issue:
    label = LABEL_NAMES[field]
    return Issue(field, f"The escalation has no '{label}'. Add a line '{label}: ...' with {EXAMPLES[field]}.")


def _required_text(text: dict[str, str], field: str, errors: list[Issue]) -> str | None:
    value = text.get(field) or None
    if value is None:
        errors.append(_missing(field))
    return value


def _about(value: str | None, errors: list[Issue]) -> str:
    if not value:
        return "child"
    low = value.lower()
    if "adult" in low and "child" not in low:
        return "adult"
    if "child" in low or "young person" in low:
        return "child"
    errors.append(Issue("about", f"We could not tell whether '{value[:60]}' means a child or an adult. "
                                 "Write 'About: child' or 'About: adult'."))
    return "child"


def _risk(value: str | None, errors: list[Issue]) -> bool | None:
    if not value:
        errors.append(_missing("immediate_risk"))
        return None
    return _yes_no(value, "immediate_risk", errors)


def _looked_after(value: str | None, errors: list[Issue]) -> bool:
    """Optional, default no; a value that is neither is an error, not a guess: a looked-after
    child read as "no" would leave the IRO out."""
    return bool(value) and bool(_yes_no(value, "looked_after", errors))


def _yes_no(value: str, field: str, errors: list[Issue]) -> bool | None:
    """yes / no (y, true / n, false, none), or None and an Issue saying how to write it."""
    match = _YES_RE.match(value)
    if not match:
        label = LABEL_NAMES[field]
        errors.append(Issue(field, f"We could not read '{value[:60]}' as yes or no. Write "
                                   f"'{label}: yes' or '{label}: no'."))
        return None
    return match.group(1).lower() in ("yes", "y", "true")


def _category(value: str | None, errors: list[Issue]) -> str | None:
    if not value:
        errors.append(_missing("category"))
        return None
    category = match_category(value)
    if category is None:
        errors.append(Issue("category", f"We could not match '{value[:60]}' to a kind of disagreement. "
                                        f"Write 'Category: ' and {EXAMPLES['category']}."))
    return category


def _raiser(value: str | None, env: FormSource, errors: list[Issue]) -> Person | None:
    if not value:
        errors.append(_missing("raised_by"))
        return None
    person, problem = parse_person(value)
    if problem == "no email address" and env.sender and not env.forwarded:
        return Person(person.name, person.role, person.agency, env.sender)
    if problem:
        errors.append(_person_issue("raised_by", problem))
    return person


def _person(text: dict[str, str], field: str, errors: list[Issue], required: bool) -> Person | None:
    value = text.get(field)
    if not value:
        if required:
            errors.append(_missing(field))
        return None
    person, problem = parse_person(value)
    if problem:
        errors.append(_person_issue(field, problem))
    return person


def _person_issue(field: str, problem: str) -> Issue:
    label = LABEL_NAMES[field]
    if problem == "no email address":
        return Issue(field, f"'{label}' has no email address. Write it as 'Name, Role, Agency <name@agency.example>'.")
    return Issue(field, f"Under '{label}', {problem}. Check the spelling of the address.")


def _decision_date(value: str | None, sent: datetime.datetime | None, errors: list[Issue]) -> datetime.date | None:
    if not value:
        errors.append(_missing("decision_date"))
        return None
    when = parse_uk_date(value)
    if when is None:
        errors.append(Issue("decision_date", f"We could not read '{value[:60]}' as a date. Write the day first, "
                                             "e.g. 'Date of decision: 20/11/2026' or '20 Nov 2026'."))
    elif sent is not None and when > sent.date() + datetime.timedelta(days=1):
        errors.append(Issue("decision_date", f"The date of decision {when:%d/%m/%Y} is after this email was "
                                             "sent. Check the date (day first, e.g. 20/11/2026)."))
        return None
    return when


def _warnings(fields: IntakeFields) -> list[Issue]:
    return [issue(p) for p in intake_passages(fields)]  # the professionals the form names are never flagged
