"""What stops a case moving, for the stage machine (tracker/stages/machine.py): a record that
does not verify, and words that seem to identify someone. Plain values in, a Transition out."""
from __future__ import annotations

from dataclasses import replace

from tracker.stages.rules import Rules
from tracker.stages.state import CaseState, Entry, Tell, Transition, Words


def unverified(rules: Rules, state: CaseState, sender: str | None, command: str | None) -> Transition:
    """A case whose record does not verify is not acted on: its people, its stage, even who
    may write to it, may be what someone wrote into the database. Nothing changes and
    nothing is recorded (an entry would vouch for the altered case); business support is
    told, once for each thing found, and what came waits for them."""
    words = Words(actor=sender, command=command, refusal=state.record_problem)
    return Transition("record_altered", False, state, (), (Tell("record_altered", rules.business_support,
                                                               about_case=False),) if rules.business_support else (),
                      words=words)


def held_intake(actor: str, passages: tuple) -> Transition:
    """An intake whose words seem to identify someone: nothing opened, its sender told."""
    return Transition("held", False, None, (), (Tell("personal_data", (actor,), answer=True, about_case=False),),
                      words=Words(passages=passages))


def held(state: CaseState, command: str | None, sender: str | None, passages: tuple, words: Words) -> Transition:
    """A reply whose words would go on to other people and seem to identify someone: held
    back, recorded without the words, and its sender told what was found."""
    cmd = (command or "").replace("_", " ")
    found = ", ".join(sorted({p.what for p in passages}))
    entry = Entry("held", sender or "", f"{cmd} from {sender} held back: its words seemed to carry "
                  f"personal data ({found}); the sender was asked to anonymise them", stage=state.stage)
    return Transition("held", False, state, (entry,), (Tell("personal_data", (sender,), answer=True),),
                      words=replace(words, passages=passages))


def cleared(actor: str, passages: tuple, answer: str | None, stage: str | None) -> tuple[Entry, ...]:
    """The sender's answer that what was held back identifies nobody, on the record with the
    passages it vouches for (in the statement, which retention can purge)."""
    if not passages or answer is None:
        return ()
    said = "; ".join(f"{p.field.replace('_', ' ')}: “{p.words}” ({p.what})" for p in passages)
    return (Entry("not_identifying", actor, f"{actor} answered that what was held back as personal data "
                  f"identifies nobody ({', '.join(sorted({p.what for p in passages}))})",
                  (answer + "\n\n" if answer else "") + "Held back: " + said, stage=stage),)
