#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian 12 machine and runs the whole suite:
# Debian packages (Dovecot, Postfix, PostgreSQL) when missing, a virtualenv with the
# project and its dev extra, then pytest. The tests start their own servers on loopback.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -k parser`).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-system-packages.sh

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
# The desk's stylesheet: GOV.UK Frontend (and, for the tests, axe-core) from the npm registry
# at the versions in package-lock.json, built into build/desk/.
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build

set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "scripts/test.sh: pytest collected no tests: that is a failure, not a pass" >&2
    exit 1
fi
exit "$rc"
