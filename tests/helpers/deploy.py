"""The shipped deployment files (deploy/escalations.service, deploy/Containerfile), read and
carried out here as far as a machine without systemd or a container engine allows: paths the
files name (/etc/escalations, /var/lib/escalations, /opt/escalations) are mapped into a base
folder, commands run as `nobody`, and what the unit and the image set (environment, working
folder, umask, private /tmp and /var/tmp, no new privileges) is set the same way.
Used by tests/integration/test_deploy.py."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "escalations.service"
CONTAINERFILE = ROOT / "deploy" / "Containerfile"
NOBODY = 65534  # uid and gid of nobody/nogroup on Debian: no account is added to the machine
MAPPED = ("/etc/escalations", "/var/lib/escalations", "/opt/escalations")
CONFIG = """[partnership]
id = "deploytest"
address = "escalations@partnership.example.test"
business_support = ["business@partnership.example.test"]
partner_domains = ["partnership.example.test", "council.example.test", "health.example.test"]

[security]
receiving_server = "none"  # a local Maildir: no receiving server writes a verdict

[inbox]
kind = "maildir"
path = "inbox"
poll_seconds = 0.2

[outgoing]
kind = "maildir"
path = "sent"

[database]
url_env = "ESCALATIONS_DATABASE_URL"
"""


def base_dir(prefix: str) -> Path:
    """A folder `nobody` can reach (pytest's tmp_path is in a 0700 folder), outside /tmp and
    /var/tmp, which the sandbox replaces by private ones: test-output/ in the checkout when
    the checkout is such a place, else (a checkout under /tmp, or in a private home) a
    folder of its own in /var/lib, removed with the test's other files."""
    if _reachable_outside_tmp(ROOT):
        parent = ROOT / "test-output" / "deploy"
        parent.mkdir(parents=True, exist_ok=True)
        for p in (ROOT / "test-output", parent):
            os.chmod(p, 0o755)
    else:
        parent = Path("/var/lib")
    base = Path(tempfile.mkdtemp(prefix=f"test-of-escalations-{prefix}", dir=parent))
    os.chmod(base, 0o755)
    return base


def _reachable_outside_tmp(folder: Path) -> bool:
    folder = folder.resolve()
    if any(folder.is_relative_to(t) for t in (Path("/tmp"), Path("/var/tmp"))):
        return False
    return all(os.stat(p).st_mode & 0o001 for p in (folder, *folder.parents))


def parse_unit(path: Path = UNIT) -> dict[str, list[str]]:
    """`Key` -> its values, in order, over every section of a systemd unit."""
    keys: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            keys.setdefault(key.strip(), []).append(value.strip())
    return keys


def config_folder(etc: Path, text: str = CONFIG, secrets: str = "") -> None:
    """/etc/escalations as README.md says: owned by root, read-only to the service (here: not
    even writable by its owner), config.toml readable by the service's group."""
    etc.mkdir(parents=True)
    (etc / "config.toml").write_text(text)
    (etc / "secrets.env").write_text(secrets)
    os.chmod(etc / "secrets.env", 0o600)
    os.chown(etc / "config.toml", 0, NOBODY)
    os.chmod(etc / "config.toml", 0o640)
    os.chmod(etc, 0o555)


def state_folder(path: Path) -> Path:
    """What systemd's StateDirectory= (and the image's volume) gives: owned by the user, 0700."""
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, NOBODY, NOBODY)
    os.chmod(path, 0o700)
    return path


def sandboxed(argv: list[str], umask: str = "0077") -> list[str]:
    """`argv` as the unit runs it: private /tmp and /var/tmp (PrivateTmp=), the user `nobody`
    with no new privileges (User=, NoNewPrivileges=) and the unit's UMask=. The base folder
    is under the checkout, so it stays visible."""
    inner = ("mount -t tmpfs -o mode=1777 tmpfs /tmp && mount -t tmpfs -o mode=1777 tmpfs /var/tmp && "
             f"umask {umask} && exec setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups --no-new-privs -- "
             + shlex.join(argv))
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", inner]


def environment(extra: dict[str, str], path_first: Path | None = None) -> dict[str, str]:
    """What systemd (or the container runtime) gives the service: a plain PATH, the user's
    variables, and nothing of the caller's environment."""
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    env = {"PATH": f"{path_first}:{path}" if path_first else path, "LANG": "C.UTF-8", "HOME": "/nonexistent",
           "USER": "nobody", "LOGNAME": "nobody", "SHELL": "/usr/sbin/nologin"}
    return {**env, **extra}


def env_file(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def fresh_venv(where: Path) -> Path:
    """A virtualenv of the machine's own Python (as a deployment makes one), not the checkout's."""
    python = shutil.which("python3.11", path="/usr/bin") or shutil.which("python3.11") or "python3"
    subprocess.run([python, "-m", "venv", str(where)], check=True)
    return where


@dataclass
class Stage:
    name: str
    root: Path
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Image:
    """What building the Containerfile left: the final stage's files and settings."""

    root: Path
    venv: Path
    env: dict[str, str]
    user: str
    workdir: str
    volumes: list[str]
    healthcheck: list[str]
    cmd: list[str]
    skipped: list[str]

    def path(self, inside: str) -> Path:
        return self.root / inside.lstrip("/")

    def mapped_env(self) -> dict[str, str]:
        return {k: str(self.path(v)) if v.startswith(MAPPED) else v for k, v in self.env.items()}


def instructions(path: Path = CONTAINERFILE) -> list[tuple[str, str]]:
    out, pending = [], ""
    for line in path.read_text().splitlines():
        if line.strip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip("\\") + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            op, _, rest = pending.strip().partition(" ")
            out.append((op.upper(), rest.strip()))
            pending = ""
    return out


def build(base: Path, context: Path = ROOT) -> Image:
    """Carry out the Containerfile: each stage's files under base/<stage>, its RUN steps in
    its working folder; the Python image's interpreter is a fresh virtualenv, node's the
    machine's own. Only adding the image's user account is left out (the test uses nobody)."""
    stages: dict[str, Stage] = {}
    stage: Stage | None = None
    venv, skipped, settings = None, [], {"user": "root", "volumes": [], "healthcheck": [], "cmd": []}
    for op, rest in instructions():
        if op == "FROM":
            image, _, name = rest.partition(" AS ")
            root = base / f"stage{len(stages)}"
            stage = Stage(name.strip() or image, root, root)
            stages[stage.name] = stage
            venv = fresh_venv(root / "python") if "python" in image else None
            stage.env = {"PATH": f"{venv / 'bin'}:{os.environ['PATH']}" if venv else os.environ["PATH"]}
        elif op == "WORKDIR":
            stage.workdir = stage.root / rest.lstrip("/")
            stage.workdir.mkdir(parents=True, exist_ok=True)
        elif op == "COPY":
            _copy(stage, stages, shlex.split(rest), context)
        elif op == "RUN":
            if rest.startswith("useradd"):
                skipped.append(rest)
                continue
            subprocess.run(["sh", "-c", rest], cwd=stage.workdir, env={**os.environ, **stage.env}, check=True)
        elif op == "ENV":
            stage.env.update(dict(pair.split("=", 1) for pair in shlex.split(rest)))
        elif op == "USER":
            settings["user"] = rest
        elif op == "VOLUME":
            settings["volumes"].append(rest)
        elif op == "HEALTHCHECK":
            settings["healthcheck"] = json.loads(rest[rest.index("CMD") + 3:])
        elif op == "CMD":
            settings["cmd"] = json.loads(rest)
    assert stage is not None and venv is not None, "the last stage must be the Python image"
    env = {k: v for k, v in stage.env.items() if k != "PATH"}
    return Image(stage.root, venv, env, settings["user"], "/" + str(stage.workdir.relative_to(stage.root)),
                 settings["volumes"], settings["healthcheck"], settings["cmd"], skipped)


def _copy(stage: Stage, stages: dict[str, Stage], args: list[str], context: Path) -> None:
    source_root = context
    if args[0].startswith("--from="):
        source_root = stages[args.pop(0).split("=", 1)[1]].root
    *sources, target = args
    dst = Path(target) if Path(target).is_absolute() else stage.workdir / target
    dst = stage.root / str(dst).lstrip("/") if Path(target).is_absolute() else dst
    for source in sources:
        src = source_root / source.lstrip("/")
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            into = dst / src.name if target.endswith("/") or len(sources) > 1 else dst
            into.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, into)
