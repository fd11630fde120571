#!/usr/bin/env bash
# Sets everything up (as root on Debian, also Dovecot, PostgreSQL and Chromium) and runs the tests:
# the whole suite on SQLite, then the tests that use the database again on a throwaway PostgreSQL.
# Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test || exit 1
scripts/install-servers.sh || exit 1

.venv/bin/python -m pytest "$@"
sqlite=$?
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    echo "--- the database tests again, on PostgreSQL ---"
    INTAKE_TEST_DATABASE=postgresql .venv/bin/python -m pytest "$@"
    postgresql=$?
else
    echo "note: PostgreSQL is not installed (Debian's postgresql); the PostgreSQL pass is skipped"
    postgresql=0
fi
[ $sqlite -eq 0 ] && [ $postgresql -eq 0 ]
