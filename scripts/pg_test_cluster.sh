#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for nasforge's tests and benchmarks, on 127.0.0.1 and a free port.
#
#   eval "$(scripts/pg_test_cluster.sh start)"    # installs PostgreSQL if missing, starts a cluster, and prints
#                                                  # export NASFORGE_TEST_POSTGRES=postgresql://nasforge@127.0.0.1:PORT/nasforge_test
#                                                  #        NASFORGE_TEST_POSTGRES_RESTART='… restart DIR'
#                                                  #        NASFORGE_TEST_POSTGRES_DIR=DIR
#   cargo test -p nasforge-store
#   scripts/pg_test_cluster.sh restart "$NASFORGE_TEST_POSTGRES_DIR"   # pg_ctl restart -m fast (tests use it;
#                                                                      # NASFORGE_PG_DOWN_SECONDS=S: down S seconds)
#   scripts/pg_test_cluster.sh stop "$NASFORGE_TEST_POSTGRES_DIR"      # stops it and removes DIR
#   scripts/pg_test_cluster.sh env DIR                                 # prints the export lines again
#
# `start [DIR]` uses DIR (created; default: a new directory under ${TMPDIR:-/tmp}). The user `nasforge` is the
# cluster's superuser, trusted without a password on 127.0.0.1 only. PostgreSQL refuses to run as root: as
# root, the cluster runs as the `postgres` system user (created by the Debian package). Durability is off
# (fsync=off, synchronous_commit=off) for fast tests; NASFORGE_PG_DURABLE=1 keeps PostgreSQL's defaults
# (for benchmarks). Messages go to stderr, the export lines to stdout.
set -euo pipefail

die() {
    echo "pg_test_cluster: $*" >&2
    exit 1
}

# The directory of initdb, pg_ctl and createdb: the newest /usr/lib/postgresql/*/bin (Debian), or where the
# initdb on PATH really is.
find_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -z "$dir" ]] && command -v initdb >/dev/null 2>&1; then
        dir=$(dirname "$(readlink -f "$(command -v initdb)")")
    fi
    if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/createdb" ]]; then
        echo "$dir"
    fi
}

install_postgres() {
    echo "pg_test_cluster: PostgreSQL is not installed: installing it with apt-get" >&2
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "PostgreSQL is missing and this user cannot install it (no sudo)"
        sudo=(sudo)
    fi
    command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is missing and there is no apt-get: install PostgreSQL (initdb, pg_ctl)"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
}

# Runs a command as the cluster's owner: the postgres system user when we are root, else ourselves.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        id postgres >/dev/null 2>&1 || die "running as root and there is no 'postgres' user to run the cluster"
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

port_is_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

print_env() {
    local dir=$1
    [[ -f "$dir/port" ]] || die "$dir holds no cluster started by this script"
    local port script
    port=$(cat "$dir/port")
    script=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
    echo "export NASFORGE_TEST_POSTGRES=postgresql://nasforge@127.0.0.1:$port/nasforge_test"
    echo "export NASFORGE_TEST_POSTGRES_RESTART='bash $script restart $dir'"
    echo "export NASFORGE_TEST_POSTGRES_DIR=$dir"
}

start() {
    local bin
    bin=$(find_bin)
    if [[ -z "$bin" ]]; then
        install_postgres
        bin=$(find_bin)
        [[ -n "$bin" ]] || die "apt-get installed postgresql but initdb was not found"
    fi
    local dir=${1:-}
    if [[ -z "$dir" ]]; then
        dir=$(mktemp -d "${TMPDIR:-/tmp}/nasforge-pg.XXXXXX")
    else
        mkdir -p "$dir"
        [[ -z "$(ls -A "$dir")" ]] || die "$dir is not empty"
    fi
    dir=$(cd "$dir" && pwd)
    chmod 755 "$dir"
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres: "$dir"
        # The postgres user must reach the directory.
        local up=$dir
        while up=$(dirname "$up") && [[ "$up" != / ]]; do
            if ! runuser -u postgres -- test -x "$up"; then
                die "the postgres user cannot enter $up: give a DIR it can reach"
            fi
        done
    fi
    echo "$bin" >"$dir/bin"
    as_owner "$bin/initdb" -D "$dir/data" -U nasforge --auth=trust --encoding=UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 ||
        die "initdb failed: see $dir/initdb.log"
    local settings=(-c listen_addresses=127.0.0.1 -c "unix_socket_directories=$dir" -c max_connections=300)
    if [[ "${NASFORGE_PG_DURABLE:-0}" != 1 ]]; then
        settings+=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)
    fi
    local attempt port
    for attempt in 1 2 3 4 5 6 7 8; do
        port=$((20000 + RANDOM % 40000))
        port_is_free "$port" || continue
        echo "$port" >"$dir/port"
        echo "-p $port ${settings[*]}" >"$dir/options"
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$(cat "$dir/options")" start >&2; then
            as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U nasforge nasforge_test ||
                die "createdb failed (the server log: $dir/server.log)"
            echo "pg_test_cluster: PostgreSQL ($bin) runs in $dir on 127.0.0.1:$port" >&2
            print_env "$dir"
            return
        fi
    done
    die "could not start PostgreSQL: see $dir/server.log"
}

# Restarts the server (ending every connection); with NASFORGE_PG_DOWN_SECONDS=S it stays down S seconds.
restart() {
    local dir=${1:?usage: $0 restart DIR}
    [[ -f "$dir/bin" ]] || die "$dir holds no cluster started by this script"
    local pg_ctl
    pg_ctl="$(cat "$dir/bin")/pg_ctl"
    if [[ "${NASFORGE_PG_DOWN_SECONDS:-0}" == 0 ]]; then
        as_owner "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -m fast restart >&2
    else
        as_owner "$pg_ctl" -D "$dir/data" -w -t 60 -m fast stop >&2
        sleep "$NASFORGE_PG_DOWN_SECONDS"
        as_owner "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$(cat "$dir/options")" start >&2
    fi
}

stop() {
    local dir=${1:?usage: $0 stop DIR}
    [[ -f "$dir/bin" ]] || die "$dir holds no cluster started by this script"
    as_owner "$(cat "$dir/bin")/pg_ctl" -D "$dir/data" -w -t 60 -m fast stop >&2 || true
    rm -rf "$dir"
}

case "${1:-}" in
start) start "${2:-}" ;;
restart) restart "${2:-}" ;;
stop) stop "${2:-}" ;;
env) print_env "${2:?usage: $0 env DIR}" ;;
*)
    echo "usage: $0 start [DIR] | restart DIR | stop DIR | env DIR" >&2
    exit 2
    ;;
esac
