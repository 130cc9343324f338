#!/usr/bin/env bash
# Installs the service into a virtualenv and runs the demo on the embedded default:
# SQLite, a local Maildir inbox, sent mail written as .eml files. No servers needed.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet -e .
.venv/bin/escalations demo "$@"
