#!/usr/bin/env bash
# Creates .venv with Python 3.11+ and installs cers-intake into it. Usage: scripts/setup.sh [test]
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

PYTHON=$(find_python) || { echo "error: Python 3.11 or newer is needed (apt-get install python3)" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
    if ! "$PYTHON" -m venv .venv 2>/dev/null; then
        rm -rf .venv
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
            "$PYTHON" -m venv .venv
        else
            echo "error: cannot create a virtual environment: install Debian's python3-venv (as root: apt-get install python3-venv)" >&2
            exit 1
        fi
    fi
fi

extras=""
if [ "${1:-}" = "test" ]; then extras="[test]"; fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}"
