#!/usr/bin/env bash
# A project-local PostgreSQL server for Airflow's metadata database.
#
#   scripts/postgres.sh install              Debian's postgresql package, if the server is missing
#   scripts/postgres.sh start DATA_DIR PORT  initdb on first use, start on 127.0.0.1:PORT, make
#                                            database `airflow`; prints its SQLAlchemy URL
#   scripts/postgres.sh url DATA_DIR PORT    the SQLAlchemy URL only
#   scripts/postgres.sh stop DATA_DIR        fast shutdown (running sessions are ended)
#
# The server listens on loopback only (no Unix socket: a project path can exceed its
# 107-byte limit); role `airflow` has a password made at initdb, kept in DATA_DIR.
# PostgreSQL refuses to run as root: as root, the server runs as Debian's `postgres`
# user, which must be able to reach DATA_DIR (every parent directory searchable).
set -euo pipefail

die() {
    echo "scripts/postgres.sh: $*" >&2
    exit 1
}

bindir() {
    local found
    if command -v pg_config >/dev/null 2>&1 && [[ -x "$(pg_config --bindir)/initdb" ]]; then
        pg_config --bindir
        return
    fi
    found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [[ -n "$found" && -x "$found/initdb" ]] || return 1
    echo "$found"
}

as_server_user() {
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

install_server() {
    if bindir >/dev/null; then
        return
    fi
    local sudo=""
    if [[ "$(id -u)" != 0 ]]; then sudo="sudo"; fi
    echo "== installing Debian's postgresql (the metadata database of make airflow)" >&2
    $sudo apt-get update -qq >&2
    # The package's own cluster is not used: policy-rc.d-less containers may fail to start it.
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >&2
    bindir >/dev/null || die "postgresql installed but no initdb found under /usr/lib/postgresql"
}

url() {
    local data="$1" port="$2"
    [[ -s "$data/segmart-password" ]] || die "$data holds no server made by this script (start it first)"
    echo "postgresql+psycopg2://airflow:$(cat "$data/segmart-password")@127.0.0.1:${port}/airflow"
}

start() {
    local data="$1" port="$2" bin
    bin="$(bindir)" || die "PostgreSQL server not installed: run \`scripts/postgres.sh install\` (Debian's postgresql)"
    mkdir -p "$data"
    data="$(cd "$data" && pwd)"
    if [[ "$(id -u)" == 0 ]]; then
        id postgres >/dev/null 2>&1 || die "running as root needs the \`postgres\` user (Debian's postgresql package makes it)"
        chown postgres: "$data"
        chmod 700 "$data"
        runuser -u postgres -- test -x "$data" ||
            die "user postgres cannot reach $data: make its parent directories searchable (chmod o+x) or choose another DATA_DIR"
    fi
    if [[ ! -s "$data/segmart-password" ]]; then  # written last: a finished initdb
        rm -rf "$data/pgdata"
        local password
        password="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
        umask 077
        printf '%s\n' "$password" >"$data/segmart-password.initdb"
        [[ "$(id -u)" == 0 ]] && chown postgres: "$data/segmart-password.initdb"
        as_server_user "$bin/initdb" -D "$data/pgdata" -U airflow --auth=scram-sha-256 \
            --pwfile="$data/segmart-password.initdb" -E UTF8 --locale=C.UTF-8 >"$data/initdb.log" 2>&1 ||
            { cat "$data/initdb.log" >&2; die "initdb failed"; }
        mv "$data/segmart-password.initdb" "$data/segmart-password"
    fi
    if ! as_server_user "$bin/pg_ctl" -D "$data/pgdata" status >/dev/null 2>&1; then
        as_server_user "$bin/pg_ctl" -D "$data/pgdata" -l "$data/server.log" -w -t 60 start \
            -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='' -c max_connections=200 -c fsync=on" \
            >/dev/null || { tail -n 20 "$data/server.log" >&2; die "the server did not start (log: $data/server.log)"; }
    fi
    local password
    password="$(cat "$data/segmart-password")"
    if ! PGPASSWORD="$password" "$bin/psql" -h 127.0.0.1 -p "$port" -U airflow -d postgres -tAc \
        "select 1 from pg_database where datname = 'airflow'" | grep -q 1; then
        PGPASSWORD="$password" "$bin/psql" -h 127.0.0.1 -p "$port" -U airflow -d postgres -qc \
            "create database airflow" >/dev/null
    fi
    url "$data" "$port"
}

stop() {
    local data="$1" bin
    bin="$(bindir)" || return 0
    [[ -d "$data/pgdata" ]] || return 0
    if as_server_user "$bin/pg_ctl" -D "$data/pgdata" status >/dev/null 2>&1; then
        as_server_user "$bin/pg_ctl" -D "$data/pgdata" -m fast -w -t 60 stop >/dev/null
    fi
}

command="${1:-}"
case "$command" in
install) install_server ;;
start) [[ $# == 3 ]] || die "usage: start DATA_DIR PORT"; start "$2" "$3" ;;
url) [[ $# == 3 ]] || die "usage: url DATA_DIR PORT"; url "$2" "$3" ;;
stop) [[ $# == 2 ]] || die "usage: stop DATA_DIR"; stop "$2" ;;
*) die "usage: $0 install | start DATA_DIR PORT | url DATA_DIR PORT | stop DATA_DIR" ;;
esac
