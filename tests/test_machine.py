"""The stage machine as a table: (state, command, who) -> (outcome, new status/stage, letters)."""
import pytest

from tracker.policy.machine import CaseState, Sender, decide

OPEN_1 = CaseState("open", "1", "2", False, False)
OPEN_3 = CaseState("open", "3", "4", True, False)
LAST = CaseState("open", "exceptional", None, False, False)
RESOLVED = CaseState("resolved", "2", "3", False, True)
ACKED = CaseState("open", "1", "2", False, True)

RAISER = Sender(is_party=True, is_raiser=True, acts_at_stage=True)
OTHER = Sender(is_party=True, is_raiser=False, acts_at_stage=True)
MANAGER_NOT_YET = Sender(is_party=True, is_raiser=False, acts_at_stage=False)
STRANGER = Sender(is_party=False, is_raiser=False, acts_at_stage=False)

TABLE = [
    # state,   command,               who,             outcome,               allowed, status,     stage, tell
    (OPEN_1, "acknowledged", OTHER, "acknowledged", True, None, None, ("acknowledged",)),
    (ACKED, "acknowledged", OTHER, "acknowledged_again", True, None, None, ()),
    (OPEN_1, "resolved", OTHER, "resolved", True, "resolved", None, ("resolved", "resolution_record")),
    (OPEN_1, "escalate", OTHER, "escalated", True, None, "2", ("escalated", "escalation_feedback")),
    (OPEN_1, "escalate", RAISER, "escalated", True, None, "2", ("escalated", "escalation_feedback")),
    (LAST, "escalate", OTHER, "no_further_stage", False, None, None, ("final_stage",)),
    (OPEN_1, "update", MANAGER_NOT_YET, "update", True, None, None, ("update",)),
    (OPEN_1, "withdraw", RAISER, "withdrawn", True, "withdrawn", None, ("withdrawn",)),
    (OPEN_1, "withdraw", OTHER, "not_raiser", False, None, None, ("refused",)),
    (OPEN_1, "resolved", MANAGER_NOT_YET, "not_stage_party", False, None, None, ("refused",)),
    (OPEN_1, "escalate", MANAGER_NOT_YET, "not_stage_party", False, None, None, ("refused",)),
    (OPEN_1, "conference_requested", OTHER, "conference_not_at_stage", False, None, None, ("refused",)),
    (OPEN_3, "conference_requested", OTHER, "conference_requested", True, None, None, ("conference_requested",)),
    (OPEN_1, "resolved", STRANGER, "not_party", False, None, None, ("refused",)),
    (RESOLVED, "resolved", OTHER, "closed_case_reply", False, None, None, ("closed_case",)),
    (RESOLVED, "update", RAISER, "closed_case_reply", False, None, None, ("closed_case",)),
    (OPEN_1, None, OTHER, "no_keyword", False, None, None, ("no_keyword",)),
]


@pytest.mark.parametrize("state,command,who,outcome,allowed,status,stage,tell", TABLE)
def test_decide(state, command, who, outcome, allowed, status, stage, tell):
    d = decide(state, command, who)
    assert (d.outcome, d.allowed, d.status, d.stage, d.tell) == (outcome, allowed, status, stage, tell)


def test_a_stranger_is_refused_whatever_the_case_state():
    for state in (OPEN_1, RESOLVED, LAST):
        assert decide(state, "resolved", STRANGER).outcome == "not_party"
