"""Escalation policies as data: stages, who acts, working days, what happens when time runs out.

A policy is built from a mapping shaped like config.toml's [policy] table, and checked on the
way in, so a policy that makes no sense (no stages, negative days, an unknown party) is
refused at start-up with the key that is wrong. The four presets (tracker/presets.py) go
through the same check.

    >>> [(s.key, n) for s, n in PRESETS["wolverhampton"].cumulative()]
    [('1', 5), ('2', 7), ('3', 10), ('4', 14), ('exceptional', 19)]
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from types import MappingProxyType

from tracker.policy.calendar import WorkingCalendar
from tracker.errors import ConfigError
from tracker.policy.presets import PRESET_DATA

ROLES: tuple[str, ...] = (
    "practitioner", "line_manager", "safeguarding_lead", "senior_manager", "head_of_service",
    "designated_lead", "director", "board_representative", "board_manager", "independent_chair",
    "qa_chair", "board_chair", "risk_management_panel", "iro", "cp_chair")
ON_EXPIRY = ("escalate", "notify_raiser", "final")
COUNTS_FROM = ("stage_start", "previous_step", "resolution", "decision")
MAX_WORKING_DAYS = 260  # a year: more is a typo, not a policy


@dataclass(frozen=True)
class Step:
    """A sub-step with its own limit, e.g. Wolverhampton's 'referred in writing within 24 hours'."""
    name: str
    working_days: int | None
    hours: int | None
    description: str
    counts_from: str = "stage_start"  # one of COUNTS_FROM


@dataclass(frozen=True)
class Stage:
    key: str
    name: str
    parties: tuple[str, ...]
    working_days: int
    steps: tuple[Step, ...] = ()
    may_request_conference: bool = False
    on_expiry: str = "escalate"  # escalate: to the next stage; notify_raiser: tell the raiser they may
    description: str = ""
    assumption: str | None = None  # set when the number is not from the seed
    # False: reached only on request and not in the policy's total (Wolverhampton's exceptional)
    in_chain: bool = True


@dataclass(frozen=True)
class Policy:
    name: str
    title: str
    stages: tuple[Stage, ...]
    immediate_risk: str
    emergency_contacts: tuple[tuple[str, str], ...]
    final_route: str
    source: str
    assumptions: tuple[str, ...]
    immediate_risk_stage: str = ""  # the stage an immediate-risk escalation starts at; "" = the first
    aim_working_days: int | None = None
    notes: tuple[str, ...] = ()

    def stage(self, key) -> Stage:
        for s in self.stages:
            if s.key == str(key):
                return s
        raise KeyError(f"policy {self.name!r} has no stage {key!r}; its stages are "
                       f"{', '.join(s.key for s in self.stages)}")

    def first(self) -> Stage:
        return self.stages[0]

    def next_stage(self, key) -> Stage | None:
        i = self.stages.index(self.stage(key))
        return self.stages[i + 1] if i + 1 < len(self.stages) else None

    def cumulative(self) -> list[tuple[Stage, int]]:
        """Each stage with the working days from raising to its end, every earlier stage having
        used its full time; a stage outside the chain is counted on from the one before it."""
        total, out = 0, []
        for s in self.stages:
            total += s.working_days
            out.append((s, total))
        return out

    def total_working_days(self) -> int:
        """The policy's own cumulative total: the stages in the chain (Wolverhampton: 14)."""
        return sum(s.working_days for s in self.stages if s.in_chain)

    def start_stage(self, immediate_risk: bool = False) -> Stage:
        return self.stage(self.immediate_risk_stage or self.first().key) if immediate_risk else self.first()


# -- building and checking ---------------------------------------------------------------------
def _get(d: Mapping, key: str, path: str, kinds, default=..., what: str = ""):
    if key not in d:
        if default is ...:
            raise ConfigError(f"{path}.{key}", f"is required{what and ': ' + what}")
        return default
    value = d[key]
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _tuple(kinds)):
        raise ConfigError(f"{path}.{key}", f"must be {what or _kind_name(kinds)}; got {value!r}")
    return value


def _tuple(kinds):
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _kind_name(kinds) -> str:
    names = {str: "text", bool: "true or false", int: "a whole number", list: "a list", dict: "a table"}
    return " or ".join(names.get(k, k.__name__) for k in _tuple(kinds))


def _no_unknown(d: Mapping, allowed, path: str):
    extra = sorted(set(d) - set(allowed))
    if extra:
        raise ConfigError(f"{path}.{extra[0]}", f"unknown key; expected one of {', '.join(allowed)}")


def _days(d: Mapping, key: str, path: str, default=...):
    n = _get(d, key, path, int, default, "a whole number of working days, 0 or more")
    if n is not None and not 0 <= n <= MAX_WORKING_DAYS:
        raise ConfigError(f"{path}.{key}", f"must be a whole number of working days, 0 or more "
                                           f"(at most {MAX_WORKING_DAYS}); got {n}")
    return n


_STEP_KEYS = ("name", "working_days", "hours", "description", "counts_from")


def _step(d, path: str) -> Step:
    if not isinstance(d, Mapping):
        raise ConfigError(path, f"must be a table with {', '.join(_STEP_KEYS)}; got {d!r}")
    _no_unknown(d, _STEP_KEYS, path)
    hours = _get(d, "hours", path, int, None, "a whole number of hours, 1 or more")
    if hours is not None and hours < 1:
        raise ConfigError(f"{path}.hours", f"must be a whole number of hours, 1 or more; got {hours}")
    counts_from = _get(d, "counts_from", path, str, "stage_start")
    if counts_from not in COUNTS_FROM:
        raise ConfigError(f"{path}.counts_from", f"must be one of {', '.join(COUNTS_FROM)}; got {counts_from!r}")
    return Step(_get(d, "name", path, str), _days(d, "working_days", path, None), hours,
                _get(d, "description", path, str, ""), counts_from)


_STAGE_KEYS = ("key", "name", "parties", "working_days", "steps", "may_request_conference", "on_expiry",
               "description", "assumption", "in_chain")


def _parties(d: Mapping, path: str) -> tuple[str, ...]:
    parties = _get(d, "parties", path, list, what="a list of roles")
    if not parties:
        raise ConfigError(f"{path}.parties", "must name at least one role")
    for p in parties:
        if p not in ROLES:
            raise ConfigError(f"{path}.parties", f"unknown party {p!r}; a party is one of {', '.join(ROLES)}")
    return tuple(parties)


def _stage(d, path: str) -> Stage:
    if not isinstance(d, Mapping):
        raise ConfigError(path, f"must be a table; got {d!r}")
    _no_unknown(d, _STAGE_KEYS, path)
    on_expiry = _get(d, "on_expiry", path, str, "escalate")
    if on_expiry not in ON_EXPIRY:
        raise ConfigError(f"{path}.on_expiry", f"must be one of {', '.join(ON_EXPIRY)}; got {on_expiry!r}")
    steps = _get(d, "steps", path, list, [], "a list of step tables")
    key = _get(d, "key", path, (str, int), what='the stage key, e.g. "1" or "pre-escalation"')
    return Stage(str(key), _get(d, "name", path, str), _parties(d, path), _days(d, "working_days", path),
                 tuple(_step(s, f"{path}.steps[{i}]") for i, s in enumerate(steps)),
                 _get(d, "may_request_conference", path, bool, False), on_expiry,
                 _get(d, "description", path, str, ""), _get(d, "assumption", path, str, None) or None,
                 _get(d, "in_chain", path, bool, True))


def _contacts(value, path: str) -> tuple[tuple[str, str], ...]:
    out = []
    for i, c in enumerate(value):
        if isinstance(c, Mapping) and set(c) == {"label", "number"}:
            c = [c["label"], c["number"]]
        if not (isinstance(c, (list, tuple)) and len(c) == 2 and all(isinstance(x, str) and x for x in c)):
            raise ConfigError(f"{path}[{i}]",
                              f'must be ["label", "number"] or {{label = "...", number = "..."}}; got {c!r}')
        out.append((c[0], c[1]))
    return tuple(out)


def _check_chain(stages: tuple[Stage, ...], path: str):
    keys = [s.key for s in stages]
    for i, s in enumerate(stages):
        if keys.index(s.key) != i:
            raise ConfigError(f"{path}[{i}].key", f"stage {s.key!r} is listed twice")
        if s.on_expiry == "escalate" and i == len(stages) - 1:
            raise ConfigError(f"{path}[{i}].on_expiry",
                              'the last stage has no next stage to escalate to: use "final" or "notify_raiser"')
    if stages and not stages[0].in_chain:
        raise ConfigError(f"{path}[0].in_chain", "the first stage must be in the chain")


_SAME_DAY = "Escalate the same working day through safeguarding procedures."
_POLICY_KEYS = ("name", "title", "stages", "immediate_risk", "immediate_risk_stage", "emergency_contacts",
                "final_route", "source", "aim_working_days", "notes", "assumptions")


def build_policy(d: Mapping, path: str = "policy") -> Policy:
    """A Policy from a [policy]-shaped mapping (see tracker/presets.py), checked throughout."""
    _no_unknown(d, _POLICY_KEYS, path)
    stages_data = _get(d, "stages", path, list, what="a list of stage tables")
    if not stages_data:
        raise ConfigError(f"{path}.stages", "a policy needs at least one stage")
    stages = tuple(_stage(s, f"{path}.stages[{i}]") for i, s in enumerate(stages_data))
    _check_chain(stages, f"{path}.stages")
    risk_stage = str(_get(d, "immediate_risk_stage", path, (str, int), ""))
    if risk_stage and risk_stage not in {s.key for s in stages}:
        raise ConfigError(f"{path}.immediate_risk_stage", f"names no stage of this policy; got {risk_stage!r}")
    notes = _get(d, "assumptions", path, dict, {}, "a table of field = assumption")
    assumptions = [f"{field}: {text}" for field, text in notes.items()]
    assumptions += [f"stage {s.key}: {s.assumption}" for s in stages if s.assumption]
    name = _get(d, "name", path, str)
    return Policy(name, _get(d, "title", path, str, name), stages,
                  _get(d, "immediate_risk", path, str, _SAME_DAY),
                  _contacts(_get(d, "emergency_contacts", path, list, [["Immediate danger", "999"]]),
                            f"{path}.emergency_contacts"),
                  _get(d, "final_route", path, str, "The last stage's decision is final."),
                  _get(d, "source", path, str, "config.toml"), tuple(assumptions), risk_stage,
                  _days(d, "aim_working_days", path, None), tuple(_get(d, "notes", path, list, [])))


PRESETS: Mapping[str, Policy] = MappingProxyType(
    {name: build_policy(data, f"presets.{name}") for name, data in PRESET_DATA.items()})

_OVERRIDABLE = ("title", "immediate_risk", "immediate_risk_stage", "emergency_contacts", "final_route",
                "aim_working_days", "notes")


def _with_overrides(data: dict, section: Mapping) -> dict:
    """The preset's data with config's values laid over it; a value set drops its assumption."""
    data = {**data, "assumptions": dict(data.get("assumptions", {}))}
    for key in _OVERRIDABLE:
        if key in section:
            data[key] = section[key]
            data["assumptions"].pop(key, None)
    overrides = _get(section, "overrides", "policy", dict, {},
                     'a table of stage key = {...}, e.g. [policy.overrides."1"]')
    stages = {s["key"]: s for s in data["stages"]}
    for key, change in overrides.items():
        where = f'policy.overrides."{key}"'
        if str(key) not in stages:
            raise ConfigError(where, f"the {data['name']} preset has no stage {key!r}; its stages are "
                                     f"{', '.join(stages)}")
        if not isinstance(change, Mapping):
            raise ConfigError(where, f"must be a table of stage values; got {change!r}")
        _no_unknown(change, [k for k in _STAGE_KEYS if k != "key"], where)
        stage = {**stages[str(key)], **change}
        if "working_days" in change and "assumption" not in change:
            stage.pop("assumption", None)
        _stage(stage, where)  # report a bad value under the override's own key
        stages[str(key)] = stage
    data["stages"] = list(stages.values())
    return data


def policy_from_config(section: Mapping, presets: Mapping[str, Policy] = PRESETS) -> Policy:
    """The [policy] table of config.toml as a Policy: a preset, a preset with overrides, or a
    partnership's own policy (name, title, stages = [...]). Raises ConfigError naming the key."""
    if "preset" not in section:
        if "stages" not in section:
            raise ConfigError("policy.preset", f"set a preset ({', '.join(presets)}) or define stages")
        return build_policy(section)
    name = section["preset"]
    if "stages" in section:
        raise ConfigError("policy.stages", "give a preset with overrides, or your own stages, not both")
    if name not in presets:
        raise ConfigError("policy.preset", f"unknown preset {name!r}; choose one of {', '.join(presets)}")
    _no_unknown(section, ("preset", "overrides") + _OVERRIDABLE, "policy")
    if name not in PRESET_DATA:  # a caller's own preset objects: overrides work on their fields
        data = _policy_data(presets[name])
    else:
        data = PRESET_DATA[name]
    if len(section) == 1:
        return presets[name]
    return build_policy(_with_overrides(data, section))


def _policy_data(p: Policy) -> dict:
    stages = [{"key": s.key, "name": s.name, "parties": list(s.parties), "working_days": s.working_days,
               "steps": [{"name": t.name, "working_days": t.working_days, "hours": t.hours,
                          "description": t.description, "counts_from": t.counts_from} for t in s.steps],
               "may_request_conference": s.may_request_conference, "on_expiry": s.on_expiry,
               "description": s.description, "assumption": s.assumption, "in_chain": s.in_chain}
              for s in p.stages]
    for s in stages:
        s["steps"] = [{k: v for k, v in t.items() if v is not None} for t in s["steps"]]
        if s["assumption"] is None:
            del s["assumption"]
    return {"name": p.name, "title": p.title, "stages": stages, "immediate_risk": p.immediate_risk,
            "immediate_risk_stage": p.immediate_risk_stage,
            "emergency_contacts": [list(c) for c in p.emergency_contacts],
            "final_route": p.final_route, "source": p.source, "notes": list(p.notes),
            "assumptions": dict(a.split(": ", 1) for a in p.assumptions if not a.startswith("stage ")),
            **({"aim_working_days": p.aim_working_days} if p.aim_working_days is not None else {})}


# -- deadlines -----------------------------------------------------------------------------------
def deadlines(policy: Policy, calendar: WorkingCalendar, raised: datetime,
              immediate_risk: bool = False) -> list[tuple[Stage, datetime]]:
    """Each stage's due time (aware UTC), every earlier stage having used its full time.

    With immediate risk the case starts at the policy's immediate-risk stage and every stage
    from there has the same-day rule: the start stage is due at the close of day zero, and
    each later one at the close of the working day after the one before (what the case
    machine does when it escalates an immediate-risk case with 0 working days)."""
    start = policy.start_stage(immediate_risk)
    day0 = calendar.day_zero(raised)
    total, out = 0, []
    for i, s in enumerate(policy.stages[policy.stages.index(start):]):
        total = i if immediate_risk else total + s.working_days
        out.append((s, calendar.close_of(calendar.add_working_days(day0, total))))
    return out


def _utc_iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat()


def deadlines_json(policy: Policy, calendar: WorkingCalendar, raised: datetime) -> dict:
    """What `escalations deadlines` prints. A stage outside the chain (Wolverhampton's
    exceptional) is due its own working days after the stage before it.

    {"policy": "wolverhampton", "raised": "2026-12-24T16:00:00+00:00",
     "stages": [{"stage": "1", "name": "Practitioners", "due": "2027-01-05T17:00:00+00:00"}, ...]}
    """
    return {"policy": policy.name, "raised": _utc_iso(calendar.local(raised)),
            "stages": [{"stage": s.key, "name": s.name, "due": _utc_iso(due)}
                       for s, due in deadlines(policy, calendar, raised)]}


# -- text ------------------------------------------------------------------------------------------
def _limit(step: Step) -> str:
    if step.hours is not None:
        return f"{step.hours} hours"
    return "" if step.working_days is None else f"{step.working_days} WD"


_FROM = {"stage_start": "from the stage's start", "previous_step": "after the step before",
         "resolution": "after resolution", "decision": "from the disputed decision"}


def _rows(policy: Policy) -> list[list[str]]:
    rows = [["stage", "name", "parties", "days", "cumulative", "on expiry"]]
    for s, total in policy.cumulative():
        days = f"{s.working_days}{'*' if s.assumption else ''}"
        cum = str(total) if s.in_chain else f"({total})"
        expiry = s.on_expiry.replace("_", " ") + (", may request conference" if s.may_request_conference else "")
        rows.append([s.key, s.name, ", ".join(s.parties), days, cum, expiry])
    return rows


def policy_table(policy: Policy) -> str:
    """A plain-text table of the policy's stages, steps indented under each; '*' marks a number
    that is an assumption, explained below the table."""
    rows = _rows(policy)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {3, 4}
    fmt = lambda r: "  ".join(c.rjust(w) if i in right else c.ljust(w)
                              for i, (c, w) in enumerate(zip(r, widths))).rstrip()
    lines = [policy.title, f"source: {policy.source}", "", fmt(rows[0]), fmt(["-" * w for w in widths])]
    for row, stage in zip(rows[1:], policy.stages):
        lines.append(fmt(row))
        lines += [f"{'':{widths[0]}}  - {t.name}" + (f": {_limit(t)} {_FROM[t.counts_from]}" if _limit(t) else "")
                  for t in stage.steps]
    lines.append("")
    lines.append(f"Total: {policy.total_working_days()} working days"
                 + (f" (the policy's aim: {policy.aim_working_days})" if policy.aim_working_days else ""))
    outside = [s.key for s in policy.stages if not s.in_chain]
    if outside:
        lines.append(f"Stage {', '.join(outside)}: reached only on request, not in the total; "
                     "its deadline is counted on from the stage before it, shown (in brackets).")
    lines += [f"Immediate risk (starts at stage {policy.start_stage(True).key}; each stage due the same "
              "working day it starts): "
              f"{policy.immediate_risk}",
              "Emergency contacts: " + "; ".join(f"{label} {num}" for label, num in policy.emergency_contacts),
              f"After the last stage: {policy.final_route}"]
    lines += [f"Note: {n}" for n in policy.notes]
    lines += [f"* assumption, {a}" for a in policy.assumptions]
    return "\n".join(lines)


def presets_summary() -> str:
    """One line per preset: name, stages with their working days, total, assumptions, title."""
    lines = []
    for name, p in PRESETS.items():
        stages = " ".join(f"{s.key}:{s.working_days}{'*' if s.assumption else ''}" for s in p.stages)
        marked = f"{len(p.assumptions)} assumptions" if p.assumptions else "no assumptions"
        lines.append(f"{name:<14} {stages:<42} total {p.total_working_days():>2} WD  {marked:<15}  {p.title}")
    return "\n".join(lines)
