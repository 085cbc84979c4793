#!/usr/bin/env bash
# The tour, on a fresh Debian 12 machine as root: installs what is needed,
# starts the local test host and shows a PowerShell session at work against it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
echo "demo: the reference client (pypsrp) against the local test host, every auth mode"
exec .venv/bin/python fixtures/testhost/selfcheck.py
