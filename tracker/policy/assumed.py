"""The values a policy preset had to assume because its seed gives no number or no answer,
and how a partnership confirms each in config.toml. `escalations check` warns about each
until it is confirmed; every mail stating a deadline from one says so (letters.py).

    >>> from tracker.policy.build import PRESETS
    >>> assumed_values(PRESETS["wiltshire"])[2]
    ('stage pre-escalation: 1 working days', '[policy.overrides."pre-escalation"] working_days = 1')
"""
from __future__ import annotations

from tracker.policy.model import Policy


def assumed_values(policy: Policy) -> list[tuple[str, str]]:
    """(what is assumed, the config.toml that confirms it as it is), in the policy's order."""
    out = []
    for text in policy.assumptions:
        what, _, _ = text.partition(": ")
        if what.startswith("stage "):
            key = what.removeprefix("stage ")
            days = policy.stage(key).working_days
            out.append((f"{what}: {days} working days", f'[policy.overrides."{key}"] working_days = {days}'))
        elif what == "immediate_risk_stage":
            key = policy.start_stage(True).key
            out.append((f"{what}: an immediate-risk case starts at stage {key} with a same-day deadline",
                        f'[policy] immediate_risk_stage = "{key}"'))
        else:
            out.append((what, f"[policy] {what} = {_shown(getattr(policy, what, None))}"))
    return out


def _shown(value) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(f'["{a}", "{b}"]' for a, b in value) + "]"
    return f'"{value}"'
