#!/bin/bash
# Install the system packages the integration tests need on Debian 12, as root:
# Dovecot (IMAP + LMTP), Postfix, PostgreSQL and openssl; for the desk's browser tests
# Debian's Chromium and its driver (Playwright drives /usr/bin/chromium and downloads no
# browser), certutil (libnss3-tools: the browser's own trust store, holding the test CA) and
# Node.js with npm (the desk's GOV.UK Frontend styles are built from the npm package).
# Idempotent; fast when all is present.
#
# The test harness (testbed/) runs its own private instances on free loopback ports from
# a temporary directory, so the system services are neither configured nor needed: this script
# makes sure none is left running on the standard ports after the install.
set -euo pipefail

PACKAGES=(dovecot-imapd dovecot-lmtpd postfix postgresql openssl chromium chromium-driver libnss3-tools)
MAIL_USER=vmail

say() { echo "install-system-packages: $*"; }

if [ "$(id -u)" != 0 ]; then
    echo "install-system-packages: must run as root (apt-get, and the mail user account); try: sudo $0" >&2
    exit 1
fi
if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
    echo "install-system-packages: needs a Debian/Ubuntu system (dpkg-query, apt-get)" >&2
    exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
    if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != "installed" ]; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -gt 0 ]; then
    say "missing: ${missing[*]}"
    # "No configuration": the package writes no /etc/postfix/main.cf and delivers nothing.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    echo "postfix postfix/mailname string localhost" | debconf-set-selections
    say "apt-get update"
    apt-get update -q >/dev/null
    say "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
else
    say "packages already installed: ${PACKAGES[*]}"
fi

# scripts/test.sh makes a virtualenv; Debian's own python3 needs python3-venv for that.
if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
    say "apt-get install python3-venv (python3 cannot make a virtualenv)"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv >/dev/null
fi

# Node.js and npm build the desk's stylesheet; a machine that already has them (from Debian or
# elsewhere) keeps its own.
if ! command -v npm >/dev/null 2>&1; then
    say "apt-get install nodejs npm"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm >/dev/null
fi

# `postfix -c DIR` needs DIR listed in alternate_config_directories of the default main.cf,
# which a "No configuration" install does not create. The harness adds/removes its entries.
if [ ! -e /etc/postfix/main.cf ]; then
    touch /etc/postfix/main.cf
    say "created empty /etc/postfix/main.cf"
else
    say "/etc/postfix/main.cf present"
fi

# Dovecot refuses uid 0 for mail; the harness stores test mail as this system user.
if ! getent passwd "$MAIL_USER" >/dev/null; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$MAIL_USER"
    say "created system user $MAIL_USER"
else
    say "system user $MAIL_USER present"
fi

# The packages' maintainer scripts may have started the system services (not where
# /usr/sbin/policy-rc.d forbids it, as in containers). Stop them: the tests don't use them.
# pidfile-based so this works with or without systemd, and does nothing if nothing runs.
stop_pidfile() { # name pidfile
    local pid
    pid=$(head -1 "$2" 2>/dev/null | tr -dc 0-9 || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
            systemctl stop "$1" >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
        else
            kill -TERM "$pid" 2>/dev/null || true
        fi
        say "stopped system $1 (pid $pid)"
    else
        say "system $1 not running"
    fi
}
stop_pidfile dovecot /run/dovecot/master.pid
stop_pidfile postfix /var/spool/postfix/pid/master.pid
pg_running=""
for pidfile in /var/lib/postgresql/*/main/postmaster.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(head -1 "$pidfile" | tr -dc 0-9)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        pg_running=1
        if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
            systemctl stop postgresql >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
        else
            kill -TERM "$pid" 2>/dev/null || true
        fi
        say "stopped system postgresql (pid $pid, $(dirname "$pidfile"))"
    fi
done
[ -n "$pg_running" ] || say "system postgresql not running"
