#!/usr/bin/env bash
# Sets everything up (as root on Debian, also Dovecot, PostgreSQL and Chromium) and runs the tests:
# the whole suite on SQLite, then the tests that use the database again on a throwaway PostgreSQL.
# Extra arguments go to pytest. With `-m unit` (only the fast unit tests, which start no server),
# the servers are not installed and the PostgreSQL pass is skipped.
set -uo pipefail
cd "$(dirname "$0")/.."

# Whether pytest's marker expression (its last -m) selects only unit tests: "unit" or "unit and ...".
only_unit_tests() {
    local marker="" take=0 arg
    for arg in "$@"; do
        if [ $take -eq 1 ]; then marker=$arg; take=0; continue; fi
        case $arg in
            -m) take=1 ;;
            -m*) marker=${arg#-m} ;;
        esac
    done
    marker=$(echo "$marker" | sed -E 's/^[[:space:]]+|[[:space:]]+$//g')
    [ "$marker" = unit ] || [[ $marker == "unit and "* ]]
}

scripts/setup.sh test || exit 1
if only_unit_tests "$@"; then
    .venv/bin/python -m pytest "$@"
    exit $?
fi
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
