"""The lock file deployments install from (issue 20): it pins every dependency pyproject.toml
names, within its bounds, each with the hashes pip checks (--require-hashes), and the build
backend too, so `pip install --no-deps --no-build-isolation .` fetches nothing unpinned."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+) \\$")


def pins() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, its hashes), from requirements.lock."""
    out, current = {}, None
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if m := PIN.match(line):
            current = canonicalize_name(m.group(1))
            out[current] = (m.group(2), [])
        elif line.strip().startswith("--hash=sha256:") and current:
            out[current][1].append(line.strip())
        elif line and not line.startswith((" ", "#")):
            raise AssertionError(f"requirements.lock: unexpected line {line!r} (an index or a path of this machine?)")
    return out


def test_the_lock_pins_every_dependency_within_pyproject_s_bounds_with_hashes():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = [Requirement(r) for r in project["project"]["dependencies"] + project["project"]["optional-dependencies"]
              ["postgres"] + project["build-system"]["requires"]]
    locked = pins()
    for req in wanted:
        name = canonicalize_name(req.name)
        assert name in locked, f"{req.name} is not in requirements.lock: run pip-compile again (README.md)"
        version, hashes = locked[name]
        assert req.specifier.contains(version, prereleases=True), f"{req.name}=={version} is outside {req.specifier}"
    assert all(hashes for _, hashes in locked.values())
    for name in ("setuptools", "wheel", "psycopg-binary"):
        assert name in locked


def test_dependencies_a_major_release_would_break_are_bounded():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for r in map(Requirement, project["project"]["dependencies"]):
        if canonicalize_name(r.name) != "tzdata":  # data, kept current on purpose
            assert any(s.operator in ("<", "<=", "==", "~=") for s in r.specifier), f"{r} has no upper bound"
