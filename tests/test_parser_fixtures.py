"""Every fixture in tests/data parses to the result written next to it in expected.json."""
from __future__ import annotations

import json
import pathlib

import pytest

from parser import parse_message

DATA = pathlib.Path(__file__).parent / "data"
EXPECTED: dict[str, dict] = json.loads((DATA / "expected.json").read_text())


def _subset(expected, actual, where="fields"):
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            _subset(value, actual.get(key), f"{where}.{key}")
    else:
        assert actual == expected, f"{where}: expected {expected!r}, got {actual!r}"


def _strings(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, str):
        yield value


def test_there_are_at_least_forty_fixtures_and_each_has_an_expectation():
    files = sorted(p.name for p in DATA.glob("*.eml"))
    assert len(files) >= 40
    assert files == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_as_expected(name):
    expect = EXPECTED[name]
    parsed = parse_message((DATA / name).read_bytes())
    result = parsed.to_contract()
    for key in ("kind", "case_ref", "command", "statement"):
        if key in expect:
            assert result[key] == expect[key], f"{key}: {result[key]!r} != {expect[key]!r} ({result['errors']})"
    if "errors" in expect:
        assert sorted(e["field"] for e in result["errors"]) == sorted(expect["errors"]), result["errors"]
    if "warnings" in expect:
        assert sorted(w["field"] for w in result["warnings"]) == sorted(expect["warnings"]), result["warnings"]
    if "fields" in expect:
        _subset(expect["fields"], result["fields"])
    if result["kind"] != "intake":
        assert result["fields"] is None
    for leak in expect.get("must_not_contain", ()):
        for text in _strings(result["fields"] or {}):
            assert leak not in text, f"{leak!r} leaked into {text!r}"
    if "own" in expect:
        assert parsed.own is expect["own"]
    assert parsed.via_list is expect.get("via_list", False)
    if "attachments" in expect:
        assert len(parsed.attachments) == expect["attachments"]


def test_command_line_prints_the_contract_json(capsys):
    from parser.__main__ import main

    assert main([str(DATA / "reply_outlook_resolved.eml")]) == 0
    assert json.loads(capsys.readouterr().out)["command"] == "resolved"
    assert main([str(DATA / "no-such-file.eml")]) == 1
    assert capsys.readouterr().err.startswith("cannot read")
