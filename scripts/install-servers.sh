#!/usr/bin/env bash
# Installs, from Debian's packages, the real servers and browser the tests run against:
# Dovecot (IMAP), PostgreSQL, Chromium (console tests) and openssl (TLS certificates).
# Needs root on Debian; elsewhere it says what is missing and the tests that need it are skipped.
set -euo pipefail

missing=()
[ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
[ -x /usr/lib/chromium/chromium ] || missing+=(chromium)
command -v openssl >/dev/null || missing+=(openssl)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's ${missing[*]} for the tests..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "note: ${missing[*]} not installed and cannot be installed here (needs root on Debian); the tests that need them will be skipped"
fi
