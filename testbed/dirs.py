"""Where a private server keeps its files."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def server_dir(prefix: str) -> Path:
    """A new directory under /tmp that the servers' own users can reach.

    Not pytest's tmp_path: /tmp/pytest-of-root is 0700, and the daemons' unprivileged users
    (vmail, postfix, postgres) must be able to traverse into the base dir."""
    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(base, 0o755)
    return base
