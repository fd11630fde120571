#!/usr/bin/env bash
# Sets everything up (as root on Debian, also Dovecot) and runs the tests. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test

if [ ! -x /usr/sbin/dovecot ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing Debian's dovecot-imapd for the IMAP tests..."
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dovecot-imapd >/dev/null
    else
        echo "note: Dovecot is not installed and cannot be installed here (needs root on Debian); its tests will be skipped"
    fi
fi

if ! command -v openssl >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's openssl for the SMTP TLS tests (self-signed certificates)..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssl >/dev/null
fi

if [ ! -x /usr/lib/chromium/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing Debian's chromium for the console's browser tests..."
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "note: Chromium is not installed and cannot be installed here (needs root on Debian); the browser tests will be skipped"
    fi
fi

exec .venv/bin/python -m pytest "$@"
