#!/usr/bin/env bash
# Sets everything up, then runs the daemon on the embedded default (a local IMAP server and SMTP sink).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/cers-intake demo "$@"
