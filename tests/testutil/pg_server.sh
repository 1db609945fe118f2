#!/usr/bin/env bash
# The test suite's own PostgreSQL server (a ctest fixture; tests/CMakeLists.txt).
#
#   pg_server.sh start STATE_DIR   initdb + pg_ctl start on a free loopback port
#   pg_server.sh stop  STATE_DIR   pg_ctl stop -m immediate, data removed
#   pg_server.sh restart STATE_DIR stop (fast) and start the same cluster
#   pg_server.sh halt STATE_DIR    stop (fast), keeping the cluster
#   pg_server.sh resume STATE_DIR  start the halted cluster again
#
# The cluster lives in a fresh directory under /tmp (world-traversable, so
# a clone under /root works too), owned by an unprivileged user when run as
# root: PostgreSQL refuses to run as root, and CI runs as root. Trust
# authentication on 127.0.0.1 only; the superuser is "dlrd".
# STATE_DIR/uri receives the URI tests connect with
# (postgresql://dlrd@127.0.0.1:PORT/postgres); STATE_DIR/data the data
# directory's path. Tests create their own databases (tests/testutil/pg_test_db.h).
set -euo pipefail

cmd=${1:?start|stop|restart}
state=${2:?state dir}
mkdir -p "$state"
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [[ -z "$bindir" ]]; then
  echo "pg_server: PostgreSQL server binaries not found (deploy/install-deps.sh installs postgresql-15)" >&2
  exit 1
fi

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
  else
    "$@"
  fi
}

start() {
  local data port
  data=$(mktemp -d /tmp/dlrd-pg.XXXXXX)
  chmod 755 "$data"
  if [[ $(id -u) -eq 0 ]]; then chown nobody:nogroup "$data"; fi
  as_owner "$bindir/initdb" -D "$data/db" -U dlrd --auth=trust -E UTF8 \
    --no-locale --no-sync >"$data/initdb.log" 2>&1 ||
    { cat "$data/initdb.log" >&2; exit 1; }
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >>"$data/db/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data'
max_connections = 200
shared_buffers = 64MB
fsync = on
synchronous_commit = on
log_min_messages = warning
CONF
  echo "$data" >"$state/data"
  echo "postgresql://dlrd@127.0.0.1:$port/postgres" >"$state/uri"
  launch "$data"
}

launch() {
  local data=$1
  as_owner "$bindir/pg_ctl" -D "$data/db" -l "$data/server.log" -w -t 60 \
    start >/dev/null || { cat "$data/server.log" >&2; exit 1; }
}

stop() {
  local data mode=${1:-immediate}
  [[ -f "$state/data" ]] || return 0
  data=$(cat "$state/data")
  if [[ -d "$data/db" ]]; then
    as_owner "$bindir/pg_ctl" -D "$data/db" -m "$mode" -w stop >/dev/null 2>&1 || true
  fi
}

case "$cmd" in
  start) stop; start ;;
  stop)
    stop
    if [[ -f "$state/data" ]]; then rm -rf "$(cat "$state/data")"; fi
    rm -f "$state/data" "$state/uri"
    ;;
  restart) stop fast; launch "$(cat "$state/data")" ;;
  halt) stop fast ;;
  resume) launch "$(cat "$state/data")" ;;
  *) echo "pg_server: unknown command $cmd" >&2; exit 2 ;;
esac
