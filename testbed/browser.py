"""Debian's Chromium, driven by Playwright, for the desk's browser tests.

Playwright is only the driver: it launches /usr/bin/chromium (package chromium, installed by
scripts/install-system-packages.sh) and never downloads a browser. The browser gets a home
of its own whose NSS database trusts the harness's throw-away CA, so it checks the test
identity provider's certificate like any other: nothing is told to ignore certificate errors.

    with Browser(base_dir, ca_file) as b:
        page = b.new_page()
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
# A closed network: nothing but loopback is reachable, and the browser should try nothing else.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage"]


def missing_requirements() -> list[str]:
    problems = []
    if not CHROMIUM.exists():
        problems.append("no /usr/bin/chromium (package chromium)")
    if not shutil.which("certutil"):
        problems.append("no certutil (package libnss3-tools)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        problems.append("the playwright Python package is missing (pip install -e '.[dev]')")
    return problems


def trust(home: Path, ca_file: Path) -> None:
    """An NSS database in `home` (where Chromium on Linux looks) trusting `ca_file` for TLS servers."""
    db = home / ".pki" / "nssdb"
    db.mkdir(parents=True, exist_ok=True)
    subprocess.run(["certutil", "-d", f"sql:{db}", "-N", "--empty-password"], check=True, capture_output=True)
    subprocess.run(["certutil", "-d", f"sql:{db}", "-A", "-n", "escalations test CA", "-t", "C,,",
                    "-i", str(ca_file)], check=True, capture_output=True)


class Browser:
    def __init__(self, base: Path, ca_file: Path):
        self.base, self.ca_file = Path(base), Path(ca_file)
        self._pw = self.browser = None

    def start(self) -> "Browser":
        from playwright.sync_api import sync_playwright

        home = self.base / "home"
        trust(home, self.ca_file)
        self._pw = sync_playwright().start()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYWRIGHT_")}
        # Playwright gives each launch a fresh, temporary --user-data-dir of its own.
        self.browser = self._pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS,
                                                env={**env, "HOME": str(home)})
        return self

    def context(self, **kwargs):
        """A fresh context (cookies of its own): one per person signed in."""
        return self.browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True, **kwargs)

    def stop(self) -> None:
        if self.browser is not None:
            self.browser.close()
        if self._pw is not None:
            self._pw.stop()

    def __enter__(self) -> "Browser":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
