"""The deployment as shipped (issue 20): deploy/Containerfile built and its health check run,
deploy/escalations.service's command lines run under the unit's restrictions, with the
configuration folder read-only; a wheel that runs the demo from any folder.

No systemd runs here and no container engine answers, so tests/helpers/deploy.py carries the
files out itself: every RUN of the Containerfile in a fresh virtualenv, the unit's commands
as `nobody` with its environment, working folder, umask, private /tmp and /var/tmp and no new
privileges, and `systemd-analyze verify` on the unit itself. What is not emulated:
ProtectSystem=strict (nobody cannot write the system's folders anyway), ProtectHome (the
checkout's own interpreter lives under /root here), PrivateDevices and the address-family
and namespace filters."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from testbed.wait import wait_until
from tests.helpers import deploy
from tests.helpers.mail import intake

PATIENCE = 120  # seconds a condition may take on a loaded machine; waits end as soon as it holds

needs_root = pytest.mark.skipif(os.geteuid() != 0 or not (shutil.which("setpriv") and shutil.which("unshare")),
                                reason="runs the service as nobody in a private mount namespace: needs root, "
                                       "setpriv and unshare (util-linux)")


@pytest.fixture(scope="module")
def image():
    base = deploy.base_dir("image-")
    try:
        yield deploy.build(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def listing(folder: Path) -> dict[str, tuple[int, float]]:
    return {str(p.relative_to(folder)): (p.stat().st_mode, p.stat().st_mtime) for p in folder.rglob("*")}


def deliver(inbox: Path) -> None:
    """As an MTA delivering for the service's user would."""
    inbox.mkdir(parents=True, exist_ok=True)
    os.chown(inbox, deploy.NOBODY, deploy.NOBODY)
    for sub in ("tmp", "new", "cur"):
        (inbox / sub).mkdir(parents=True, exist_ok=True)
        os.chown(inbox / sub, deploy.NOBODY, deploy.NOBODY)
    (inbox / "tmp" / "1.eml").write_bytes(intake())
    os.chown(inbox / "tmp" / "1.eml", deploy.NOBODY, deploy.NOBODY)
    (inbox / "tmp" / "1.eml").rename(inbox / "new" / "1.eml")


def beating(state: Path) -> bool:
    beat = state / "heartbeat-deploytest.json"
    return beat.exists() and bool(json.loads(beat.read_text() or "{}").get("mailbox_reached_at"))


def confirmed(state: Path) -> bool:
    new = state / "sent" / "new"
    return new.exists() and any(p.name.endswith("-confirmation.eml") for p in new.iterdir())


def stop(proc: subprocess.Popen, timeout: float) -> int:
    """SIGTERM, then what systemd does after TimeoutStopSec= (or `podman stop -t`): SIGKILL."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return -9


def test_the_unit_file_verifies():
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    base = deploy.base_dir("verify-")
    try:
        # the same unit, with its binary at a path that exists here (verify checks it is executable)
        unit = base / "escalations.service"
        unit.write_text(deploy.UNIT.read_text().replace("/opt/escalations/.venv/bin/escalations",
                                                        str(Path(sys.executable).parent / "escalations")))
        done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
        assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), done.stderr
    finally:
        shutil.rmtree(base, ignore_errors=True)
    keys = deploy.parse_unit()
    assert keys["StateDirectory"] == ["escalations"] and keys["ProtectSystem"] == ["strict"]
    assert "ReadWritePaths" not in keys  # StateDirectory= is the one place it may write


@needs_root
def test_the_unit_runs_the_daemon_healthy_with_a_read_only_config_folder(image):
    keys = deploy.parse_unit()
    base = deploy.base_dir("unit-")
    try:
        mapping = {"/opt/escalations/.venv": str(image.venv), "/etc/escalations": str(base / "etc" / "escalations"),
                   "/var/lib/escalations": str(base / "var" / "lib" / "escalations")}

        def mapped(value: str) -> str:
            for inside, outside in mapping.items():
                value = value.replace(inside, outside)
            return value

        etc = Path(mapping["/etc/escalations"])
        deploy.config_folder(etc, secrets="ESCALATIONS_TEST_SECRET=unit-secret-value\n")
        assert keys["StateDirectory"] == ["escalations"]
        state = deploy.state_folder(base / "var" / "lib" / keys["StateDirectory"][0])
        [workdir] = keys["WorkingDirectory"]
        assert mapped(workdir) == str(state)
        # HOME: the account's home, which README.md's useradd makes the state directory
        env = deploy.environment({"STATE_DIRECTORY": str(state), "HOME": str(state),
                                  **deploy.env_file(Path(mapped(keys["EnvironmentFile"][0])))})
        for assignment in keys["Environment"]:
            name, _, value = assignment.partition("=")
            env[name] = mapped(value)
        before = listing(etc)
        [umask] = keys["UMask"]
        assert keys["PrivateTmp"] == ["yes"] and keys["NoNewPrivileges"] == ["yes"]

        def run(command: str, **kw) -> subprocess.CompletedProcess | subprocess.Popen:
            argv = deploy.sandboxed(mapped(command).split(), umask)
            if kw.pop("background", False):
                return subprocess.Popen(argv, env=env, cwd=state, stdin=subprocess.DEVNULL, **kw)
            return subprocess.run(argv, env=env, cwd=state, capture_output=True, text=True)

        for pre in keys["ExecStartPre"]:
            done = run(pre)
            assert done.returncode == 0, done.stderr
        deliver(state / "inbox")
        log = open(base / "daemon.log", "wb")
        [exec_start] = keys["ExecStart"]
        daemon = run(exec_start, background=True, stdout=log, stderr=subprocess.STDOUT)
        try:
            assert wait_until(lambda: beating(state) and confirmed(state), PATIENCE), \
                (base / "daemon.log").read_text()
            status = run(exec_start.replace(" run", " status"))
            assert status.returncode == 0 and "alive" in status.stdout, status.stdout + status.stderr
        finally:
            code = stop(daemon, float(keys["TimeoutStopSec"][0]))
            log.close()
        assert code == 0, (base / "daemon.log").read_text()
        assert listing(etc) == before  # nothing written beside the config
        assert (state / "escalations.db").stat().st_uid == deploy.NOBODY
        assert (state / "escalations.db").stat().st_mode & 0o077 == 0  # UMask=0077 and the file's own mode
        lines = [json.loads(line) for line in (base / "daemon.log").read_text().splitlines() if line.startswith("{")]
        assert lines and all(line.get("partnership") == "deploytest" for line in lines
                             if line["logger"].startswith("tracker")), lines
        assert "unit-secret-value" not in (base / "daemon.log").read_text()
    finally:
        shutil.rmtree(base, ignore_errors=True)


@needs_root
def test_the_container_image_runs_with_its_health_check_passing(image):
    """The image as `podman run -v /etc/escalations:/etc/escalations:ro -v state:/var/lib/escalations`
    runs it: its CMD as its USER in its WORKDIR with its ENV, then its HEALTHCHECK."""
    assert image.skipped == [next(r for op, r in deploy.instructions() if op == "RUN" and r.startswith("useradd"))]
    assert image.user == "escalations" and image.volumes == ["/var/lib/escalations"]
    assert image.env["ESCALATIONS_STATE_DIR"] == "/var/lib/escalations" == image.workdir
    etc = image.path("/etc/escalations")
    deploy.config_folder(etc)
    state = deploy.state_folder(image.path(image.workdir))
    env = deploy.environment({**image.mapped_env(), "HOME": str(state)}, path_first=image.venv / "bin")
    before = listing(etc)
    deliver(state / "inbox")
    log = open(image.root / "container.log", "wb")
    container = subprocess.Popen(deploy.sandboxed(image.cmd), env=env, cwd=state, stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=subprocess.STDOUT)
    try:
        assert wait_until(lambda: beating(state) and confirmed(state), PATIENCE), \
            (image.root / "container.log").read_text()
        health = subprocess.run(deploy.sandboxed(image.healthcheck), env=env, cwd=state, capture_output=True, text=True)
        assert health.returncode == 0 and "alive" in health.stdout, health.stdout + health.stderr
    finally:
        code = stop(container, 150)
        log.close()
    assert code == 0, (image.root / "container.log").read_text()
    assert listing(etc) == before
    assert (state / "escalations.db").exists() and (state / "heartbeat-deploytest.json").exists()
    # the package it installed is a real one: its files inside it, not read from a checkout
    site = next(image.venv.glob("lib/python3*/site-packages"))
    assert (site / "tracker" / "templates" / "confirmation.txt").exists()
    assert (site / "tracker" / "desk" / "built" / "desk.css").exists()
    assert not list(site.glob("__editable__*"))


def test_a_wheel_runs_the_demo_from_any_folder_and_own_templates_still_win(image, tmp_path):
    """`python -m build` (a source distribution, then the wheel from it, as a release is made),
    the wheel installed without its dependencies into a fresh virtualenv that borrows the
    image's installed dependencies (a .pth line: the checkout is nowhere on its path)."""
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(dist), str(deploy.ROOT)], check=True,
                   capture_output=True)
    [wheel] = dist.glob("escalations-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"tracker/templates/confirmation.txt", "tracker/templates/desk/base.html", "tracker/config.toml",
            "tracker/storage/migrations/env.py", "parser/personal_words.txt"} <= names, sorted(names)[:20]
    venv = deploy.fresh_venv(tmp_path / "venv")
    subprocess.run([venv / "bin" / "pip", "install", "--quiet", "--no-deps", str(wheel)], check=True)
    site = next(venv.glob("lib/python3*/site-packages"))
    (site / "deps.pth").write_text(str(next(image.venv.glob("lib/python3*/site-packages"))) + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = deploy.environment({"HOME": str(tmp_path)}, path_first=venv / "bin")
    done = subprocess.run(["escalations", "demo"], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "resolved" in done.stdout and list((elsewhere / "demo-output" / "sent" / "new").glob("*.eml"))
    where = subprocess.run(["python", "-c", "import tracker.shipped as s; print(s.TEMPLATES)"], cwd=elsewhere,
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert where == str(site / "tracker" / "templates")

    own = elsewhere / "own-templates"
    own.mkdir()
    (own / "confirmation.txt").write_text("Subject: [{{ ref }}] Our own words\n\nOur own confirmation.\n")
    (elsewhere / "config.toml").write_text(deploy.CONFIG.replace('id = "deploytest"', 'id = "own"')
                                           + '\n[templates]\ndir = "own-templates"\n[state]\ndir = "state"\n')
    deliver(elsewhere / "state" / "inbox")
    done = subprocess.run(["escalations", "run", "--once"], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    [mail] = (elsewhere / "state" / "sent" / "new").glob("*-confirmation.eml")
    assert b"Our own confirmation." in mail.read_bytes()
