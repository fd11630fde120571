#!/usr/bin/env bash
# The static gate CI runs before the tests: ruff (lint and format) and mypy, as configured in pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
