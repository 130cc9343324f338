"""The command line given random arguments and files (issue 20 point 3): whatever it is given,
it answers with an exit code and, on failure, one line on standard error; never a traceback.

Arguments are drawn from the argparse tree itself (every command, every option, values that
are right, wrong, empty, hostile text, paths that do not exist, folders, unreadable and random
files), driven in-process through tracker.cli.main:main, and a few through the real console
script. Size: ESCALATIONS_CLI_FUZZ (examples in-process; a twentieth of them, at least 3,
through the console script), default 60; ESCALATIONS_CLI_FUZZ=2000 as a soak.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.helpers.mail import intake
from tests.helpers.site import site_config
from tracker.cli.main import main
from tracker.cli.options import build_parser

EXAMPLES = int(os.environ.get("ESCALATIONS_CLI_FUZZ", "60"))
SCRIPT = Path(sys.executable).with_name("escalations")
# Commands that serve until stopped: given only arguments that make them refuse at once.
SERVES = {"desk", "run"}
SLOW = {"demo"}  # a whole workflow per example; tests/test_cli.py runs it


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("cli-fuzz")
    (base / "config.toml").write_text(site_config(base, pid="fuzz"))
    (base / "bad.toml").write_bytes(b"[partnership\nid = \x00\xff")
    (base / "folder").mkdir()
    (base / "random.eml").write_bytes(os.urandom(2048))
    (base / "locked.eml").write_bytes(intake())
    os.chmod(base / "locked.eml", 0)
    for sub in ("tmp", "new", "cur"):
        (base / "inbox" / sub).mkdir(parents=True)
    (base / "inbox" / "new" / "1.eml").write_bytes(intake())
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["--config", str(base / "config.toml"), "--now", "2026-11-23T10:00", "run", "--once"]) == 0
    return base


def texts() -> st.SearchStrategy[str]:
    return st.text(st.characters(blacklist_categories=("Cs",)), max_size=24)


def values(base: Path) -> st.SearchStrategy[str]:
    """Anything a person, a script or an attacker might type as a value."""
    return st.one_of(
        texts(),
        st.sampled_from(["", "-", "--", "ESC-2026-0001", "esc-2026-0001", "2026-W48", "2026-W99", "2026-12-01",
                         "2026-01-01", "2027-01-04T09:00", "2027-01-04T09:00+05:30", "1", "0", "65536", "banana",
                         "wolverhampton", "essex", "open", "exceptional", "\x1b[2J", "\u202e", "nul\x00byte"]),
        st.sampled_from(["config.toml", "bad.toml", "folder", "random.eml", "locked.eml", "missing/x.html",
                         "out.html", "out.csv", "inbox/new/1.eml"]).map(lambda p: str(base / p)),
        texts().map(lambda t: str(base / "folder" / t.replace("/", "_").replace("\x00", "") or "blank")),
    )


def argv(base: Path) -> st.SearchStrategy[list[str]]:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices

    @st.composite
    def draw(draw) -> list[str]:
        out: list[str] = []
        if draw(st.booleans()):
            out += ["--config", draw(values(base))]
        else:
            out += ["--config", str(base / "config.toml")]
        for flag in ("--now", "--partnership"):
            if draw(st.integers(0, 3)) == 0:
                out += [flag, draw(values(base))]
        name = draw(st.sampled_from(sorted(set(commands) - SLOW) + ["nonsense", ""]))
        out.append(name)
        sub = commands.get(name)
        for action in (sub._actions if sub else []):
            if isinstance(action, argparse._HelpAction) or not draw(st.booleans()):
                continue
            if action.nargs == 0:
                out.append(action.option_strings[0])
                continue
            vals = [draw(values(base)) for _ in range(draw(st.integers(1, 2)) if action.nargs == "+" else 1)]
            out += ([action.option_strings[0]] if action.option_strings else []) + vals
        if draw(st.integers(0, 5)) == 0:
            out.append(draw(values(base)))
        if name == "desk":
            out += ["--port", draw(st.sampled_from(["0", "-1", "70000", "port"]))]  # never one that would serve
        if name == "run" and "--once" not in out:
            out += ["--now", "2027-01-04T09:00"]  # the daemon refuses a set clock: it must not start
        return out

    return draw()


def judge(code, out: str, err: str, args: list[str]) -> None:
    assert isinstance(code, int), (args, code)
    assert "Traceback" not in out + err, (args, err)
    if code != 0:
        said = [x for x in err.splitlines() if x and "the clock is set to" not in x and not x.startswith("{")]
        reports = {"check", "status"} & set(args) or "--verify" in args  # their report is standard output
        assert len(said) == 1 or (reports and not said and out), (args, err)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])
@given(data=st.data())
def test_random_arguments_in_process(site, data):
    args = data.draw(argv(site))
    out, err = io.StringIO(), io.StringIO()
    # in the site's folder: a relative path drawn as an output file must land there, not here
    with contextlib.chdir(site), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    judge(code, out.getvalue(), err.getvalue(), args)


@settings(max_examples=max(3, EXAMPLES // 20), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_arguments_through_the_console_script(site, data):
    args = data.draw(argv(site))
    if any("\x00" in a for a in args):
        return  # a NUL cannot be passed to a process at all
    done = subprocess.run([str(SCRIPT), *args], capture_output=True, timeout=120, cwd=site,
                          env={**os.environ, "ESCALATIONS_CONFIG": ""})
    judge(done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace"), args)


def test_a_reader_that_goes_away_ends_the_command_quietly(site):
    big = site / "big.eml"
    big.write_bytes(intake().replace(b"Reasons: ", b"Reasons: " + b"long " * 20000))
    shell = shutil.which("sh")
    done = subprocess.run([shell, "-c", f'"{SCRIPT}" parse "{big}" | head -c 10 >/dev/null; echo "$?"'],
                          capture_output=True, timeout=60)
    assert done.stderr == b""  # no BrokenPipeError, no "Exception ignored"
