#!/usr/bin/env bash
# Starts a private PostgreSQL (Debian's package) on 127.0.0.1 for the tests and README's cluster, in its own data
# directory and port, with an empty database "vlink" for the nodes, and prints the tests' connection string. A server
# this script started that still runs is kept as it is (its data too). Usage:
#   eval "$(tests/scripts/postgres.sh start)"  ...  tests/scripts/postgres.sh stop
# Needs root (to install the package and run the server as the postgres user) or an existing install.
set -euo pipefail
port="${VLINK_PG_PORT:-54329}"
state="${VLINK_PG_STATE:-${TMPDIR:-/tmp}/vlink-test-postgres-$port}"

bin_dir() {
    local v
    v=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)
    [[ -n "$v" ]] && echo "/usr/lib/postgresql/$v/bin"
}

case "${1:-}" in
start)
    if [[ -z "$(bin_dir)" ]]; then
        echo "installing PostgreSQL from Debian's package..." >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq postgresql >&2
    fi
    bin=$(bin_dir)
    if [[ -f "$state/data/postmaster.pid" ]] && runuser -u postgres -- "$bin/pg_ctl" -D "$state/data" status >/dev/null 2>&1; then
        echo "PostgreSQL already runs on 127.0.0.1:$port (data in $state)" >&2
        echo "export VLINK_TEST_POSTGRES='Host=127.0.0.1;Port=$port;Username=vlink;Database=postgres'"
        exit 0
    fi
    rm -rf "$state"
    mkdir -p "$state"
    chown postgres:postgres "$state"
    runuser -u postgres -- "$bin/initdb" -D "$state/data" -A trust -U vlink >"$state/initdb.log" 2>&1
    runuser -u postgres -- "$bin/pg_ctl" -D "$state/data" -l "$state/server.log" -w \
        -o "-p $port -k $state -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on" start >&2
    runuser -u postgres -- "$bin/createdb" -h 127.0.0.1 -p "$port" -U vlink vlink >&2
    echo "export VLINK_TEST_POSTGRES='Host=127.0.0.1;Port=$port;Username=vlink;Database=postgres'"
    ;;
stop)
    bin=$(bin_dir)
    if [[ -n "$bin" && -d "$state/data" ]]; then
        runuser -u postgres -- "$bin/pg_ctl" -D "$state/data" -m fast stop >&2 || true
    fi
    rm -rf "$state"
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
