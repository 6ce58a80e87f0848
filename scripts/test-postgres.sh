#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the store tests (used by `make test`).
#
#   scripts/test-postgres.sh start   initdb + start a cluster in a new temp dir, create database outturn_test,
#                                    print its SQLAlchemy URL on stdout (all else goes to stderr)
#   scripts/test-postgres.sh stop    stop it (fast) and remove the temp dir; exits 0 when nothing is running
#   scripts/test-postgres.sh url     print the URL of the running cluster
#
# The cluster listens only on 127.0.0.1 (and a unix socket in its temp dir) on a free port, with trust auth,
# and fsync off: it holds nothing worth keeping. initdb and pg_ctl refuse to run as root, so as root they run
# as the `postgres` OS user; when that user or the server binaries are missing, `start` (as root) installs
# Debian's postgresql-15 package. The state file (PG_TEST_STATE, default .pg-test/state) records the URL, the
# port and the temp dir; `start` is idempotent while its cluster is running. Non-interactive throughout.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${PG_TEST_STATE:-$ROOT/.pg-test/state}
PGBIN=${PG_TEST_BIN:-/usr/lib/postgresql/15/bin}
DATABASE=outturn_test

say() { echo "test-postgres: $*" >&2; }

is_root() { [ "$(id -u)" = 0 ]; }

# Run a server binary as the cluster's owner: `postgres` when we are root, else ourselves.
as_owner() {
    if is_root; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

state_value() {  # state_value KEY: the value recorded in the state file
    sed -n "s/^$1=//p" "$STATE" 2>/dev/null | head -n 1
}

ensure_server_installed() {
    local missing=()
    [ -x "$PGBIN/initdb" ] && [ -x "$PGBIN/pg_ctl" ] || missing+=("binaries in $PGBIN")
    if is_root && ! id postgres >/dev/null 2>&1; then
        missing+=("the postgres OS user")
    fi
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! is_root; then
        say "missing ${missing[*]}; install postgresql-15 (as root: apt-get install -y postgresql-15)"
        return 1
    fi
    command -v apt-get >/dev/null 2>&1 || { say "missing ${missing[*]} and no apt-get to install them"; return 1; }
    say "missing ${missing[*]}: installing postgresql-15 (apt-get)"
    # Do not let the package create and start its own "main" cluster on port 5432.
    mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/outturn-tests.conf
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql-15 >&2
    [ -x "$PGBIN/initdb" ] && id postgres >/dev/null 2>&1
}

free_port() {
    local python
    python=$(command -v python3 || command -v python || true)
    if [ -n "$python" ]; then
        "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    else
        echo $((55432 + RANDOM % 1000))
    fi
}

running() {  # the cluster in the state file is up
    local datadir
    datadir=$(state_value DATADIR)
    [ -n "$datadir" ] && [ -d "$datadir" ] && as_owner "$PGBIN/pg_ctl" -D "$datadir" status >/dev/null 2>&1
}

start() {
    if [ -f "$STATE" ]; then
        if running; then
            state_value URL
            return 0
        fi
        say "stale state file $STATE: cleaning up"
        stop
    fi
    ensure_server_installed
    local tmp datadir port url attempt
    if is_root; then  # the postgres user must reach it: not a root-only TMPDIR
        tmp=$(mktemp -d /tmp/outturn-pg.XXXXXX)
    else
        tmp=$(mktemp -d "${TMPDIR:-/tmp}/outturn-pg.XXXXXX")
    fi
    chmod 755 "$tmp"
    datadir=$tmp/data
    mkdir -p "$(dirname "$STATE")"
    printf 'DIR=%s\nDATADIR=%s\n' "$tmp" "$datadir" >"$STATE"
    if is_root; then
        chown postgres: "$tmp"
    fi
    if ! as_owner "$PGBIN/initdb" -D "$datadir" -U postgres --auth=trust --encoding=UTF8 --locale=C \
        --no-sync --no-instructions >"$tmp/initdb.log" 2>&1; then
        cat "$tmp/initdb.log" >&2
        say "initdb failed"
        stop
        return 1
    fi
    for attempt in 1 2 3; do
        port=$(free_port)
        if as_owner "$PGBIN/pg_ctl" -D "$datadir" -l "$tmp/server.log" -w -t 30 -s \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $tmp -c fsync=off -c synchronous_commit=off \
-c full_page_writes=off -c max_connections=200" start >&2; then
            break
        fi
        say "could not start on port $port (attempt $attempt)"
        port=
    done
    if [ -z "$port" ]; then
        tail -n 20 "$tmp/server.log" >&2 || true
        stop
        return 1
    fi
    if ! as_owner "$PGBIN/psql" -X -q -h "$tmp" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE DATABASE $DATABASE" >&2; then
        say "could not create database $DATABASE"
        stop
        return 1
    fi
    url="postgresql+psycopg://postgres@127.0.0.1:$port/$DATABASE"
    printf 'DIR=%s\nDATADIR=%s\nPORT=%s\nURL=%s\n' "$tmp" "$datadir" "$port" "$url" >"$STATE"
    echo "$url"
}

stop() {
    [ -f "$STATE" ] || return 0
    local tmp datadir
    tmp=$(state_value DIR)
    datadir=$(state_value DATADIR)
    if [ -n "$datadir" ] && [ -f "$datadir/postmaster.pid" ]; then
        as_owner "$PGBIN/pg_ctl" -D "$datadir" -m fast -w -t 30 -s stop >&2 || say "pg_ctl stop failed"
    fi
    case "$tmp" in
        */outturn-pg.*) rm -rf -- "$tmp" ;;
    esac
    rm -f -- "$STATE"  # (its directory stays: git ignores an empty one, and a parallel run may be using it)
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url) if running; then state_value URL; else say "not running"; exit 1; fi ;;
    *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
