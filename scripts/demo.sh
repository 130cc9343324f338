#!/usr/bin/env bash
# Installs the service into a virtualenv and runs the demo on the embedded default:
# SQLite, a local Maildir inbox, sent mail written as .eml files. No servers needed.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet -e .
# The desk's stylesheet: GOV.UK Frontend (and, for the tests, axe-core) from the npm registry
# at the versions in package-lock.json, built into build/desk/.
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
.venv/bin/escalations demo "$@"
