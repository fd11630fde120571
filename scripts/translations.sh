#!/usr/bin/env bash
# The console's catalogue: extract the English msgids from console/ into console/locale/messages.pot,
# then merge them into console/locale/fr/LC_MESSAGES/messages.po (new msgids arrive untranslated or
# fuzzy; ones no longer used are dropped). Translate the .po by hand; no .mo is built: console/i18n.py
# compiles the .po in memory.
#   scripts/translations.sh          extract and update
#   scripts/translations.sh --check  change nothing; fail when the .pot or the .po is behind the sources
# tests/test_console_translations.py also fails on a msgid without its French.
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL=${PYBABEL:-.venv/bin/pybabel}
POT=console/locale/messages.pot
fresh=$(mktemp --suffix=.pot)
trap 'rm -f "$fresh"' EXIT
"$PYBABEL" -q extract -F babel.cfg --add-location=file --sort-by-file --no-wrap --project=cers-intake -o "$fresh" console
undated() { grep -v '^"POT-Creation-Date:' "$1"; }
if [[ -f "$POT" ]] && diff -q <(undated "$POT") <(undated "$fresh") >/dev/null; then
    changed=no  # only the date would change: the .pot is left as it is
else
    changed=yes
fi
if [[ "${1:-}" == "--check" ]]; then
    if [[ $changed == yes ]]; then
        echo "$POT is behind the sources: run scripts/translations.sh" >&2
        exit 1
    fi
    exec "$PYBABEL" -q update --check --ignore-obsolete --no-wrap --ignore-pot-creation-date -i "$POT" -d console/locale -l fr
fi
[[ $changed == yes ]] && cp "$fresh" "$POT"
"$PYBABEL" -q update --ignore-obsolete --no-wrap -i "$POT" -d console/locale -l fr
