"""Building a policy from a [policy]-shaped mapping, checked on the way in: a policy that
makes no sense (no stages, negative days, an unknown party) is refused at start-up with the
key that is wrong. The presets (tracker/policy/presets.py) go through the same check."""
from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from tracker.errors import ConfigError
from tracker.policy.model import (COUNTS_FROM, INVOLVE_WHEN, MAX_WORKING_DAYS, ON_EXPIRY, ROLES, STAGE_CLOCKS,
                                  Involve, Policy, Stage, Step)
from tracker.policy.presets import PRESET_DATA


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
               "description", "assumption", "in_chain", "fallback", "board_referral", "assumption_line")


def _parties(d: Mapping, path: str) -> tuple[str, ...]:
    parties = _get(d, "parties", path, list, what="a list of roles")
    if not parties:
        raise ConfigError(f"{path}.parties", "must name at least one role")
    for p in parties:
        if p not in ROLES:
            raise ConfigError(f"{path}.parties", f"unknown party {p!r}; a party is one of {', '.join(ROLES)}")
    return tuple(parties)


def _fallback(d: Mapping, path: str) -> tuple[tuple[str, str], ...]:
    """{role = stand-in role}: who a side goes to when its agency has nobody for the role."""
    table = _get(d, "fallback", path, dict, {}, 'a table of role = "stand-in role"')
    for role, stand_in in table.items():
        if role not in ROLES or not isinstance(stand_in, str) or stand_in not in ROLES:
            raise ConfigError(f"{path}.fallback.{role}", f"both must be roles; roles are {', '.join(ROLES)}")
    return tuple(table.items())


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
                 _get(d, "in_chain", path, bool, True), _fallback(d, path), _get(d, "board_referral", path, bool, False),
                 _get(d, "assumption_line", path, str, None) or None)


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
                "final_route", "source", "aim_working_days", "notes", "assumptions", "involve", "stage_clock",
                "immediate_risk_assumption")


def _involve(d: Mapping, path: str) -> tuple[Involve, ...]:
    """[[policy.involve]] role, when ("looked_after" | "conference"), why: brought onto a case
    as a party of every stage."""
    out = []
    for i, t in enumerate(_get(d, "involve", path, list, [], "a list of tables with role, when, why")):
        where = f"{path}.involve[{i}]"
        if not isinstance(t, Mapping):
            raise ConfigError(where, "must be a table with role, when and why")
        _no_unknown(t, ("role", "when", "why"), where)
        role, when = _get(t, "role", where, str), _get(t, "when", where, str)
        if role not in ROLES:
            raise ConfigError(f"{where}.role", f"unknown role {role!r}; roles are {', '.join(ROLES)}")
        if when not in INVOLVE_WHEN:
            raise ConfigError(f"{where}.when", f"must be one of {', '.join(INVOLVE_WHEN)}; got {when!r}")
        out.append(Involve(role, when, _get(t, "why", where, str, "")))
    return tuple(out)


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
    clock = _get(d, "stage_clock", path, str, "previous_deadline")
    if clock not in STAGE_CLOCKS:
        raise ConfigError(f"{path}.stage_clock", f"must be one of {', '.join(STAGE_CLOCKS)}; got {clock!r}")
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
                  _days(d, "aim_working_days", path, None), tuple(_get(d, "notes", path, list, [])),
                  _involve(d, path), clock,
                  _get(d, "immediate_risk_assumption", path, str, None) if "immediate_risk_stage" in notes else None)


PRESETS: Mapping[str, Policy] = MappingProxyType(
    {name: build_policy(data, f"presets.{name}") for name, data in PRESET_DATA.items()})

_OVERRIDABLE = ("title", "immediate_risk", "immediate_risk_stage", "emergency_contacts", "final_route",
                "aim_working_days", "notes", "involve", "stage_clock")


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
            stage.pop("assumption", None)  # the partnership has confirmed its number
            stage.pop("assumption_line", None)
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
               "description": s.description, "assumption": s.assumption, "in_chain": s.in_chain,
               "fallback": dict(s.fallback), "board_referral": s.board_referral,
               "assumption_line": s.assumption_line}
              for s in p.stages]
    for s in stages:
        s["steps"] = [{k: v for k, v in t.items() if v is not None} for t in s["steps"]]
        for key in ("assumption", "assumption_line"):
            if s[key] is None:
                del s[key]
    return {"name": p.name, "title": p.title, "stages": stages, "immediate_risk": p.immediate_risk,
            "immediate_risk_stage": p.immediate_risk_stage,
            "emergency_contacts": [list(c) for c in p.emergency_contacts],
            "final_route": p.final_route, "source": p.source, "notes": list(p.notes),
            "involve": [{"role": i.role, "when": i.when, "why": i.why} for i in p.involve],
            "stage_clock": p.stage_clock,
            **({"immediate_risk_assumption": p.immediate_risk_assumption} if p.immediate_risk_assumption else {}),
            "assumptions": dict(a.split(": ", 1) for a in p.assumptions if not a.startswith("stage ")),
            **({"aim_working_days": p.aim_working_days} if p.aim_working_days is not None else {})}
