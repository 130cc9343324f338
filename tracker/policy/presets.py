"""The four partnerships' policies as data, in the same shape as a [policy] table in config.toml.

`tracker.policy.model` builds every preset through the validator a partnership's own policy goes
through, so a preset cannot hold what config would refuse. Wording is quoted from the seeds
(shared/seeds/, named in each `source`); every number a seed does not give carries an
`assumption` saying so, which a partnership clears by setting the value in config.toml:

    [policy]
    preset = "essex"
    [policy.overrides."1"]
    working_days = 2

Step `counts_from`: "stage_start", "previous_step" (the step listed before it), "resolution"
(after the stage resolves it), "decision" (the disputed decision's date, from the intake).
"""
from __future__ import annotations

_NO_NUMBER = "{seed} gives no number of working days for this stage; {n} is this preset's assumption"
# The one line a mail stating such a deadline carries (tracker/outgoing/letters.py).
_SET_BY_US = "this partnership has set {n} working days; the policy gives no number"

WOLVERHAMPTON = {
    "name": "wolverhampton",
    "title": "Wolverhampton Safeguarding Board: Resolution and Escalation Protocol (children and adults)",
    "source": "seeds/003_076041ec90296095.txt (WSB resolution and escalation protocol)",
    "aim_working_days": 10,
    "immediate_risk": (
        "When any professional considers a child or adult with care and support needs is at immediate "
        "risk of significant harm, the individual must ensure their concerns are escalated on the same "
        "working day using established safeguarding procedures: inform your designated safeguarding "
        "lead immediately, who informs the Wolverhampton MASH."),
    "emergency_contacts": [
        ["MASH (children)", "01902 555392"], ["MASH (adults)", "01902 551199"],
        ["Safeguarding Manager (Children's), to request a conference", "01902 550477"],
        ["Immediate danger", "999"]],
    "final_route": (
        "Exceptional circumstances only: the Director writes within 2 working days to the WSB Chair via "
        "the WSB Business Manager; the Chair makes a final and binding decision, communicated to all "
        "involved within 5 working days. After resolution the receiving agency confirms the outcome to "
        "the complaining agency within 2 working days; weaknesses in WSB policy or procedure go to the "
        "Board via the Business Manager."),
    "stages": [
        {"key": "1", "name": "Practitioners", "parties": ["practitioner"], "working_days": 5,
         "description": ("The professional should provide clear evidence-based reasons for their "
                         "disagreement. The receiving agency must read and review the particular case file."),
         "steps": [
             {"name": "Raise with the practitioner", "working_days": 2, "counts_from": "decision",
              "description": ("raise the matter with the relevant practitioner verbally and in writing "
                              "within 2 working days of the disagreement or receipt of a decision")},
             {"name": "Find a way forward", "working_days": 3, "counts_from": "previous_step",
              "description": ("speak to the disputing practitioner and attempt to find a mutually "
                              "agreeable way forward within 3 working days")},
             {"name": "Outcome in writing", "working_days": 2, "counts_from": "resolution",
              "description": ("the responsible worker will advise the agency of the outcome in writing "
                              "(i.e. email) within a further 2 working days")}]},
        {"key": "2", "name": "Line / Team Managers", "parties": ["line_manager", "safeguarding_lead"],
         "working_days": 2,
         "description": ("each practitioner should raise their concerns with their respective manager or "
                         "named lead for safeguarding"),
         "steps": [
             {"name": "Managers resolve", "working_days": 2, "counts_from": "stage_start",
              "description": "attempt to resolve the differences within 2 working days"},
             {"name": "Written confirmation", "working_days": 2, "counts_from": "resolution",
              "description": ("the receiving agency will write to the disputing agency confirming the "
                              "outcome within a further 2 working days")}]},
        {"key": "3", "name": "Service / Senior Managers", "parties": ["senior_manager", "designated_lead"],
         "working_days": 3, "may_request_conference": True,
         "description": ("A senior manager from any agency can request that a Child Protection Conference "
                         "be convened."),
         "steps": [
             {"name": "Referred in writing", "hours": 24, "counts_from": "stage_start",
              "description": ("the issue must be referred in writing within 24 hours to the relevant "
                              "senior manager or other designated professional")},
             {"name": "Managers' dialogue", "working_days": 2, "counts_from": "previous_step",
              "description": "engage in dialogue within 2 working days to resolve the issue"},
             {"name": "Conference request (if made)", "counts_from": "stage_start",
              "description": ("contact the Safeguarding Manager (Children's) in the Safeguarding Service "
                              "(01902 550477), followed up in writing with the supporting evidence")}]},
        {"key": "4", "name": "Director / Assistant Directors", "parties": ["director", "board_representative"],
         "working_days": 4, "on_expiry": "notify_raiser",
         "description": "Where a resolution is still not agreed after Stage 3.",
         "steps": [
             {"name": "Raised with the WSB representative", "working_days": 2, "counts_from": "stage_start",
              "description": ("the service/senior manager will raise the disagreement within a further 2 "
                              "working days with their agency or sector's WSB representative")},
             {"name": "Representatives write and meet", "working_days": 2, "counts_from": "previous_step",
              "description": ("write to their equivalent in the agency that is the subject of the dispute "
                              "and meet within a further 2 working days to achieve a final resolution")}]},
        {"key": "exceptional", "name": "Exceptional circumstances: WSB Independent Chair",
         "parties": ["director", "board_manager", "independent_chair"], "working_days": 5,
         "in_chain": False, "on_expiry": "final", "board_referral": True,
         "description": ("In exceptional circumstances only, where the matter remains unresolved and the "
                         "concerns of the complaining agency persist. Not part of the protocol's 14 working "
                         "days: its deadline is counted from the end of stage 4."),
         "steps": [
             {"name": "Director writes to the Chair", "working_days": 2, "counts_from": "stage_start",
              "description": ("the Director of this agency should write immediately and within no more than "
                              "2 working days, to the WSB Chair, via the WSB Business Manager")},
             {"name": "Chair's final decision", "working_days": 5, "counts_from": "stage_start",
              "description": ("a final and binding decision ... communicated to all involved within 5 "
                              "working days of the issue being brought to his/her attention")}]},
    ],
}

_WILTS_SPLIT = ("the seed says pre-escalation to stage 2 together should be no longer than 5 working days "
                "but does not split them; {n} for this stage (1 + 2 + 2) is this preset's assumption")
_WILTS_LINE = ("this partnership has set {n} for this stage; the policy gives 5 working days for "
               "pre-escalation to stage 2 together, without splitting them")

WILTSHIRE = {
    "name": "wiltshire",
    "title": "Wiltshire Safeguarding Children Board: Resolution of professional disagreements",
    "source": "seeds/004_609949bbf44ea250.txt (WSCB escalation policy)",
    "immediate_risk": (
        "In all cases where a professional thinks a child is at imminent risk of harm and another agency "
        "disagrees they should refer direct to their Wiltshire Safeguarding Children Board nominated "
        "person after consulting quickly with their named Safeguarding Lead or line manager."),
    "immediate_risk_stage": "3",
    "immediate_risk_assumption": ("the same-day deadline is this partnership's choice; the policy says "
                                  "'refer direct' without a number of days"),
    "emergency_contacts": [["WSCB Business Support (nominated representative)", "01225 718093"],
                           ["Immediate danger", "999"]],
    "final_route": (
        "The nominated representative / Board Manager liaises with the Independent Chair; a final "
        "decision is reached and communicated to all parties within 3 working days. At the level the "
        "matter is resolved, the resolving manager completes the 'Notification of an Escalation' form "
        "for WSCB Business Support, the client anonymised."),
    "assumptions": {
        "immediate_risk_stage": ("the seed says 'refer direct' and 'as a matter of urgency' without a "
                                 "number; the service gives the Board referral the same-day deadline"),
        "emergency_contacts": ("the seed gives no front-door number, and prints the WSCB number both as "
                               "0122 718093 and 01225 718093 (the Wiltshire code is 01225); add your "
                               "front door in config.toml"),
    },
    "stages": [
        {"key": "pre-escalation", "name": "Professional : Professional",
         "parties": ["practitioner", "safeguarding_lead"], "working_days": 1,
         "assumption": _WILTS_SPLIT.format(n=1), "assumption_line": _WILTS_LINE.format(n="1 working day"),
         "description": ("Any worker who feels that a decision is not safe should initially consult their "
                         "safeguarding lead or line manager ... Initial attempts should be taken to resolve "
                         "the problem at the lowest possible level. This would normally be between the "
                         "people who disagree.")},
        {"key": "1", "name": "Manager : Manager", "parties": ["line_manager"], "working_days": 2,
         "assumption": _WILTS_SPLIT.format(n=2), "assumption_line": _WILTS_LINE.format(n="2 working days"),
         "description": ("the concerned worker should contact their manager within their own agency who "
                         "should raise the concerns with the equivalent manager in the other agency")},
        {"key": "2", "name": "Senior Manager : Senior Manager",
         "parties": ["senior_manager", "safeguarding_lead", "head_of_service"], "working_days": 2,
         "assumption": _WILTS_SPLIT.format(n=2), "assumption_line": _WILTS_LINE.format(n="2 working days"),
         "description": ("the managers will report to their respective senior service manager ... or their "
                         "organisations' named safeguarding lead. Where there continues to be a "
                         "disagreement with the outcome of a Child protection Conference this will be "
                         "referred to the Head of Service.")},
        {"key": "3", "name": "Refer via the WSCB",
         "parties": ["board_representative", "independent_chair"], "working_days": 3,
         "fallback": {"board_representative": "board_manager"}, "board_referral": True, "on_expiry": "final",
         "description": ("referred to the nominated WSCB representative for the agency ... If the agency "
                         "does not have a nominated representative the matter must be referred to the "
                         "Safeguarding Board Manager."),
         "steps": [{"name": "Final decision", "working_days": 3, "counts_from": "stage_start",
                    "description": ("a final decision will be reached and communicated to all parties "
                                    "within 3 working days")}]},
    ],
}

_ESSEX = "the Essex seed ('the quickest possible response')"

ESSEX = {
    "name": "essex",
    "title": "Essex Safeguarding Children Board: Inter-agency Escalation Policy",
    "source": "seeds/001_fe5a59ab844ec05e.txt (ESCB inter-agency escalation policy)",
    "immediate_risk": (
        "Initial attempts to resolve the problem are between the people who disagree, unless the child is "
        "at immediate risk: then refer the same working day through safeguarding procedures, and call "
        "999 if a child is in immediate danger."),
    "emergency_contacts": [["Immediate danger", "999"]],
    "final_route": ("The ESCB Chair refers to the Risk Management Panel for final decision. General issues "
                    "go to the agency's ESCB representative for the relevant subgroup."),
    "notes": ["This policy does not apply to concerns about the behaviour or conduct of another "
              "professional: use the agency's own Whistleblowing Policy."],
    "assumptions": {"emergency_contacts": "the seed gives no front-door number: add yours in config.toml"},
    "stages": [
        {"key": "1", "name": "Practitioners", "parties": ["practitioner"], "working_days": 3,
         "assumption": _NO_NUMBER.format(seed=_ESSEX, n=3), "assumption_line": _SET_BY_US.format(n=3),
         "description": ("Initial attempts should be made to resolve the problem. This should normally be "
                         "between the people who disagree, unless the child is at immediate risk.")},
        {"key": "2", "name": "Line manager / Child Protection advisor",
         "parties": ["line_manager", "safeguarding_lead"], "working_days": 2,
         "assumption": _NO_NUMBER.format(seed=_ESSEX, n=2), "assumption_line": _SET_BY_US.format(n=2),
         "description": ("the problem should be referred to the worker's own line manager or Child "
                         "Protection advisor, who will discuss with their opposite number in the other agency"),
         "steps": [{"name": "Outcome to the raiser", "counts_from": "resolution",
                    "description": "Named professional advises concerned professional of outcome at this stage"}]},
        {"key": "3", "name": "'Up the line': Designated Lead for Child Protection",
         "parties": ["designated_lead", "senior_manager"], "working_days": 1,
         "assumption": _NO_NUMBER.format(seed=_ESSEX, n=1) + " (the seed says 'immediately')",
         "assumption_line": "this partnership has set 1 working day; the policy says 'immediately', without a number",
         "description": ("The Designated Lead for Child Protection will liaise with his/her equivalent lead "
                         "officer immediately on becoming aware of the situation")},
        {"key": "4", "name": "ESCB Quality Assurance Sub Group mediation", "parties": ["qa_chair"],
         "working_days": 5, "board_referral": True, "assumption": _NO_NUMBER.format(seed=_ESSEX, n=5), "assumption_line": _SET_BY_US.format(n=5), "assumption_line": _SET_BY_US.format(n=5),
         "description": ("the Chair of the ESCB Quality Assurance Sub Group ... to offer mediation as soon as "
                         "possible; may decide to involve the ESCB Independent Chair if necessary")},
        {"key": "5", "name": "ESCB Chair", "parties": ["board_chair", "independent_chair"], "working_days": 5,
         "board_referral": True,
         "assumption": _NO_NUMBER.format(seed=_ESSEX, n=5), "assumption_line": _SET_BY_US.format(n=5),
         "description": "ESCB Chair will discuss with the chair of QA."},
        {"key": "6", "name": "Risk Management Panel", "parties": ["risk_management_panel"],
         "working_days": 10, "on_expiry": "final", "board_referral": True,
         "assumption": _NO_NUMBER.format(seed=_ESSEX, n=10), "assumption_line": _SET_BY_US.format(n=10),
         "description": ("If however the issue for partners remains unresolved, ESCB chair to refer to the "
                         "Risk Management Panel for final decision.")},
    ],
}

_WSX = ("the seed names the levels of escalation and level 2 (manager to manager) only; the full table is "
        "in the WSSCP Escalation Policy (June 2019), not in the seed. {what} this preset's assumption")

WEST_SUSSEX = {
    "name": "west-sussex",
    "title": "West Sussex Safeguarding Children Partnership: Escalation Policy",
    "source": "seeds/002_8dd7846f9eaeb4de.txt (WSSCP web page)",
    "immediate_risk": (
        "If a child is thought to be at risk of immediate harm, discretion should be used as to which stage "
        "is initiated. If you are worried about a child speak to the Integrated Front Door (IFD); call 999 "
        "for the Police if you think a child is in immediate danger."),
    "emergency_contacts": [["Integrated Front Door (IFD)", "01403 229900"],
                           ["Immediate danger (Police)", "999"]],
    "final_route": "The WSSCP decides (assumed: the seed does not say who makes the final decision).",
    "immediate_risk_assumption": ("the policy leaves the starting level to discretion; this partnership starts "
                                  "at level 1 with a same-day deadline"),
    # The seed's own words: who comes onto a case, for all of it, and when.
    "involve": [
        {"role": "iro", "when": "looked_after",
         "why": ("Issues relating to looked after children should be taken up with the Independent Reviewing "
                 "Officer (IRO), who has a role in overseeing services for looked after children.")},
        {"role": "cp_chair", "when": "conference",
         "why": "For Child Protection conferences, make sure you utilise the Child Protection Chairs / Advisor."}],
    "assumptions": {
        "immediate_risk_stage": ("the seed leaves the starting level to discretion; the preset starts at "
                                 "level 1 with a same-day deadline"),
        "final_route": "the seed does not say who makes the final decision",
    },
    "stages": [
        {"key": "1", "name": "Level 1: practitioner to practitioner",
         "parties": ["practitioner"],
         "working_days": 3, "assumption": _WSX.format(what="This level and its 3 working days are"),
         "assumption_line": _SET_BY_US.format(n=3),
         "description": ("Disagreements should be resolved at the lowest possible stage. Issues relating to "
                         "looked after children should be taken up with the Independent Reviewing Officer "
                         "(IRO); for Child Protection conferences, utilise the Child Protection Chairs / "
                         "Advisor.")},
        {"key": "2", "name": "Level 2: manager to manager", "parties": ["line_manager"], "working_days": 3,
         "assumption": _WSX.format(what="Its 3 working days are"), "assumption_line": _SET_BY_US.format(n=3),
         "description": "Contact details for Level 2 escalations (manager to manager)."},
        {"key": "3", "name": "Level 3: senior manager to senior manager",
         "parties": ["senior_manager", "head_of_service", "safeguarding_lead"], "working_days": 5,
         "assumption": _WSX.format(what="This level and its 5 working days are"),
         "assumption_line": _SET_BY_US.format(n=5)},
        {"key": "4", "name": "Level 4: referral to the WSSCP", "parties": ["board_manager", "independent_chair"],
         "working_days": 5, "on_expiry": "final", "board_referral": True,
         "assumption": _WSX.format(what="This level and its 5 working days are"),
         "assumption_line": _SET_BY_US.format(n=5)},
    ],
}

PRESET_DATA = {p["name"]: p for p in (WOLVERHAMPTON, WILTSHIRE, ESSEX, WEST_SUSSEX)}
