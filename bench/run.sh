#!/usr/bin/env bash
# dlrd benchmark: wrk with pre-signed unique webhooks against dlrd (durable
# ack: 200 only after the SQLite commit), and the same requests against
# nginx `return 200;` as a ceiling for this machine. See bench/README.md.
#
#   bench/run.sh [--duration 10] [--connections 64] [--threads 2] [--rounds 3]
#                [--io-threads 1,2] [--corpus N] [--no-fixed-rate]
#                [--backend sqlite|postgres|both]
#                [--prefill N [--cache-dir DIR]] [--jobs 1]
#                [--out bench/results.md] [--keep] [--quiet-wait 60] [--retries 2]
#
# --prefill N: each round also runs dlrd (max rate, every --io-threads
# setting) on a copy of a database already holding N events, beside the
# runs on an empty one; the report gives the ratio prefilled / empty.
# --backend postgres|both: also (or only) dlrd on PostgreSQL: a server of its
# own (tests/testutil/pg_server.sh), a fresh database per run, one replica,
# and two replicas on the same database driven at once by two wrk processes.
# Installs nothing. Loopback only. Every process it starts is stopped on exit.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
ORIG_ARGS=("$@")

DURATION=10
CONNECTIONS=64
THREADS=2
ROUNDS=3
IO_LIST=1,2
CORPUS=0
FIXED=1
OUT="$HERE/results.md"
KEEP=0
QUIET_WAIT=60
RETRIES=2
PREFILL=0
CACHE_DIR=""
JOBS=1
BACKEND=sqlite

usage() { sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
need_int() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "bench: $1 needs a positive integer, got '$2'" >&2; exit 2; }; }

while (($#)); do
  case "$1" in
    --duration) need_int "$1" "${2:-}"; DURATION=$2; shift 2 ;;
    --connections) need_int "$1" "${2:-}"; CONNECTIONS=$2; shift 2 ;;
    --threads) need_int "$1" "${2:-}"; THREADS=$2; shift 2 ;;
    --rounds) need_int "$1" "${2:-}"; ROUNDS=$2; shift 2 ;;
    --io-threads) [[ "${2:-}" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || { echo "bench: --io-threads takes e.g. 1 or 1,2" >&2; exit 2; }
                  IO_LIST=$2; shift 2 ;;
    --corpus) need_int "$1" "${2:-}"; CORPUS=$2; shift 2 ;;
    --no-fixed-rate) FIXED=0; shift ;;
    --backend) [[ "${2:-}" =~ ^(sqlite|postgres|both)$ ]] || { echo "bench: --backend takes sqlite, postgres or both" >&2; exit 2; }
               BACKEND=$2; shift 2 ;;
    --prefill) [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "bench: --prefill needs an event count" >&2; exit 2; }
               PREFILL=$2; shift 2 ;;
    --cache-dir) CACHE_DIR=${2:?}; shift 2 ;;
    --jobs) need_int "$1" "${2:-}"; JOBS=$2; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --retries) [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "bench: --retries needs a count" >&2; exit 2; }
               RETRIES=$2; shift 2 ;;
    --quiet-wait) [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "bench: --quiet-wait needs seconds" >&2; exit 2; }
                  QUIET_WAIT=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
((CONNECTIONS >= THREADS)) || { echo "bench: --connections must be >= --threads" >&2; exit 2; }
IFS=, read -r -a IO_THREADS <<<"$IO_LIST"
# What each io_threads setting runs on: sqlite, pg1 (one replica on
# PostgreSQL), pg2 (two replicas on the same PostgreSQL database).
case "$BACKEND" in
  sqlite) STORES=(sqlite) ;;
  postgres) STORES=(pg1 pg2) ;;
  both) STORES=(sqlite pg1 pg2) ;;
esac
if [[ "$BACKEND" != sqlite ]]; then
  # Two replicas: two wrk processes, each with half the threads (disjoint
  # corpus slices) and half the connections.
  ((THREADS % 2 == 0)) || { echo "bench: --backend $BACKEND needs an even --threads (two wrk processes share them)" >&2; exit 2; }
  ((CONNECTIONS % 2 == 0)) || { echo "bench: --backend $BACKEND needs an even --connections" >&2; exit 2; }
  ((PREFILL == 0)) || { echo "bench: --prefill is SQLite only; use --backend sqlite" >&2; exit 2; }
fi
# Unique events needed: generous for ~30k ok/s per run; a run that still runs
# out is marked INVALID (and the DB-row check would catch it too).
if ((CORPUS == 0)); then
  CORPUS=$((DURATION * 30000)); ((CORPUS >= 200000)) || CORPUS=200000
fi

# ------------------------------------------------------------------ tools
NGINX=$(command -v nginx || true)
[[ -n "$NGINX" ]] || { [[ -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx; }
missing=()
command -v wrk >/dev/null || missing+=(wrk)
[[ -n "$NGINX" ]] || missing+=("nginx (nginx-light)")
command -v python3 >/dev/null || missing+=(python3)
PG_SERVER="$ROOT/tests/testutil/pg_server.sh"
if [[ "$BACKEND" != sqlite ]]; then
  command -v psql >/dev/null || missing+=("psql (postgresql-client)")
  ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || missing+=("PostgreSQL server (postgresql-15)")
fi
if ((${#missing[@]})); then
  echo "bench: missing: ${missing[*]}" >&2
  echo "bench: run deploy/install-deps.sh (as root) first; this script installs nothing." >&2
  exit 2
fi
PY="python3 $HERE/benchlib.py"

kill_tree() {  # SIGTERM a process we started and its descendants, by pid
  local c
  for c in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$c"; done
  kill -TERM "$1" 2>/dev/null || true
}

# ------------------------------------------------------------------ build
BUILD="$ROOT/build-bench"
BIN="$BUILD/dlrd"
if command -v cmake >/dev/null; then
  # In the background and waited for, so that an interrupt stops the build
  # (the helper stops cmake and everything under it) instead of leaving it
  # running.
  $PY build "$ROOT" "$JOBS" &
  BUILD_PID=$!
  trap 'kill_tree "$BUILD_PID"; exit 130' INT TERM
  wait "$BUILD_PID" || exit 1
  trap - INT TERM
elif [[ ! -x "$BIN" ]]; then
  echo "bench: $BIN is missing and cmake is not installed: run deploy/install-deps.sh" >&2
  exit 2
fi

# ------------------------------------------------------------------ processes
WORK=$(mktemp -d /tmp/dlrd-bench.XXXXXX)
PIDS=()          # every process this script started (nginx workers added too)
PG_STATE=""      # set once our PostgreSQL server is being started
STATUS=0
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local pid c
  for c in $CHILD; do kill_tree "$c"; done
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [[ -n "$PG_STATE" ]]; then bash "$PG_SERVER" stop "$PG_STATE" || true; fi
  rm -f "$WORK"/corpus.t* "$WORK"/*-prefill.db*   # big; the logs are kept
  if ((KEEP)) || ((rc != 0)); then
    echo "bench: logs kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Long foreground children run in the background and are waited for, so a
# SIGTERM to this script is handled at once (bash defers traps until a
# foreground child exits) and the child is stopped by cleanup().
CHILD=""        # pid(s) of the long child(ren) being waited for
in_bg() {
  "$@" &
  CHILD=$!
  local rc=0
  wait "$CHILD" || rc=$?
  CHILD=""
  return "$rc"
}

forget_pid() {  # drop $1 from PIDS once it is gone
  local keep=() p
  for p in "${PIDS[@]}"; do [[ "$p" == "$1" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}
stop_pid() {  # SIGTERM, wait up to 20 s, then SIGKILL; returns the exit code
  local pid=$1 rc=0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "bench: pid $pid ignored SIGTERM for 20 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || rc=$?
  forget_pid "$pid"
  return "$rc"
}

read -r PUB_PORT ADMIN_PORT NGINX_PORT PUB2_PORT ADMIN2_PORT <<<"$($PY ports 5)"
export BENCH_SECRET="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

start_dlrd() {  # $1 io_threads, $2 run tag, [$3 template] [$4 postgresql URI]
               # [$5 public port, $6 admin port] -> DLRD_PID, DLRD_DB
  local io=$1 tag=$2 template=${3:-} ready_s=15 pub=${5:-$PUB_PORT} admin=${6:-$ADMIN_PORT}
  if [[ -n "${4:-}" ]]; then
    DLRD_DB=$4
  else
    DLRD_DB="$WORK/$tag.db"
    rm -f "$DLRD_DB" "$DLRD_DB-wal" "$DLRD_DB-shm"
  fi
  if [[ -n "$template" ]]; then
    # This run's own copy of the prefilled (and already migrated) database.
    in_bg $PY copy-db "$template" "$DLRD_DB" >"$WORK/$tag.copy.json"
    ready_s=300
  fi
  $PY config "$WORK/$tag.jsonc" "$pub" "$admin" "$DLRD_DB" "$io"
  "$BIN" serve --config "$WORK/$tag.jsonc" 2>"$WORK/$tag.dlrd.log" &
  DLRD_PID=$!
  PIDS+=("$DLRD_PID")
  if ! $PY wait-http "http://127.0.0.1:$admin/readyz" "$ready_s" "$DLRD_PID"; then
    echo "bench: dlrd did not become ready; its log:" >&2
    cat "$WORK/$tag.dlrd.log" >&2
    exit 1
  fi
}

start_nginx() {  # $1 run tag -> NGINX_PID, NGINX_ALL (master + workers)
  local tag=$1 dir="$WORK/$tag.nginx"
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<EOF
# written by bench/run.sh: the same path as dlrd, answered without work.
worker_processes $(nproc);
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  # nginx closes a keep-alive connection after 1000 requests by default;
  # dlrd never does. Lift it so both serve one connection per wrk socket.
  keepalive_requests 100000000;
  keepalive_timeout 75s;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location /webhooks/ { return 200; }
  }
}
EOF
  "$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" &
  NGINX_PID=$!
  PIDS+=("$NGINX_PID")
  $PY wait-tcp "$NGINX_PORT" 10 "$NGINX_PID" || { cat "$dir/error.log" >&2; exit 1; }
  # Workers (children of this master, found by parent pid) are tracked too,
  # so they are stopped even if the master dies.
  local w want=$(nproc)
  for _ in $(seq 50); do
    mapfile -t w < <(pgrep -P "$NGINX_PID" || true)
    ((${#w[@]} >= want)) && break
    sleep 0.1
  done
  PIDS+=("${w[@]}")
  NGINX_ALL=("$NGINX_PID" "${w[@]}")
}

WRK_CMD="wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency -s bench/signed.lua http://127.0.0.1:PORT/webhooks/verifynow"
run_wrk() {  # $1 port, $2 tag, $3 target rate (0 = max)
  # This is a shared 2-core box: wait for others' builds to pause first.
  in_bg $PY quiet "$QUIET_WAIT" 0.15
  # The host's flush latency moves dlrd's numbers more than anything else.
  FSYNC=$($PY fsync "$WORK")
  rm -f "$WORK/$2.wrk.json"
  BENCH_CORPUS="$WORK/corpus" BENCH_OUT="$WORK/$2.wrk.json" BENCH_RATE="$3" \
    BENCH_THREADS="$THREADS" \
    in_bg $PY run "$WORK/$2.clock.json" -- wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
      -s "$HERE/signed.lua" "http://127.0.0.1:$1/webhooks/verifynow" \
      >"$WORK/$2.wrk.txt" 2>&1 || { cat "$WORK/$2.wrk.txt" >&2; exit 1; }
  [[ -s "$WORK/$2.wrk.json" ]] || { echo "bench: wrk wrote no summary" >&2; cat "$WORK/$2.wrk.txt" >&2; exit 1; }
}

run_wrk2() {  # $1 port a, $2 port b, $3 tag, $4 total target rate (0 = max)
  # Two replicas driven at once: one wrk per replica, each with half the
  # threads (wrk b reads the corpus slices after wrk a's), half the
  # connections and half the rate. Outputs $3.a.* and $3.b.*.
  in_bg $PY quiet "$QUIET_WAIT" 0.15
  FSYNC=$($PY fsync "$WORK")
  local t=$((THREADS / 2)) c=$((CONNECTIONS / 2)) rate=$(($4 / 2)) side port pids=() rc=0 p
  ((rate > 0 || $4 == 0)) || rate=1   # 0 would mean closed loop
  for side in a b; do
    if [[ $side == a ]]; then port=$1; else port=$2; fi
    rm -f "$WORK/$3.$side.wrk.json"
    BENCH_CORPUS="$WORK/corpus" BENCH_OUT="$WORK/$3.$side.wrk.json" BENCH_RATE="$rate" \
      BENCH_THREADS="$t" BENCH_SLICE0=$([[ $side == a ]] && echo 0 || echo "$t") \
      $PY run "$WORK/$3.$side.clock.json" -- wrk -t"$t" -c"$c" -d"${DURATION}s" --latency \
        -s "$HERE/signed.lua" "http://127.0.0.1:$port/webhooks/verifynow" \
        >"$WORK/$3.$side.wrk.txt" 2>&1 &
    pids+=($!)
  done
  CHILD="${pids[*]}"
  for p in "${pids[@]}"; do wait "$p" || rc=$?; done
  CHILD=""
  for side in a b; do
    if ((rc != 0)) || [[ ! -s "$WORK/$3.$side.wrk.json" ]]; then
      echo "bench: wrk $side failed or wrote no summary" >&2; cat "$WORK/$3.$side.wrk.txt" >&2; exit 1
    fi
  done
}

pg_psql() {  # $1 database, SQL...: run SQL on our PostgreSQL server
  local db=$1; shift
  PGOPTIONS="-c client_min_messages=warning" \
    psql "${PG_URI%/*}/$db" -X -q -A -t -v ON_ERROR_STOP=1 "$@"
}

pg_cpu() {  # JSON: CPU seconds of our postmaster and all its children
  $PY pgcpu "$(head -1 "$(cat "$PG_STATE/data")/db/postmaster.pid")"
}

RESULTS="$WORK/results.jsonl"
: >"$RESULTS"

measure_nginx() {  # $1 round, $2 mode (max|rate), $3 rate
  local tag="r$1-nginx-$2"
  start_nginx "$tag"
  local proc0 proc
  proc0=$($PY proc "${NGINX_ALL[@]}")
  run_wrk "$NGINX_PORT" "$tag" "$3"
  proc=$($PY proc "${NGINX_ALL[@]}")
  local p
  for p in "${NGINX_ALL[@]}"; do stop_pid "$p" >/dev/null 2>&1 || true; done
  $PY record "$RESULTS" target=nginx mode="$2" round="$1" io_threads=0 \
    connections="$CONNECTIONS" target_rate="$3" wrk="$WORK/$tag.wrk.json" \
    proc0="$proc0" proc="$proc" clock="$WORK/$tag.clock.json" fsync="$FSYNC"
}

measure_dlrd() {  # $1 round, $2 mode, $3 rate, $4 io_threads, [$5 prefill rows]
                 # [$6 store: sqlite (default), pg1 or pg2]
  local prefill=${5:-0} store=${6:-sqlite} tag="r$1-dlrd-io$4-$2" template=""
  if ((prefill)); then tag="$tag-prefill"; template=$TEMPLATE; fi
  local uri="" replicas=1 pgdb="" extra=()
  if [[ $store == pg* ]]; then
    # A fresh database on our PostgreSQL server for this run; with pg2 both
    # replicas share it.
    replicas=${store#pg}
    tag="r$1-dlrd-$store-io$4-$2"
    pgdb="bench_${tag//-/_}"
    pg_psql postgres -c "DROP DATABASE IF EXISTS $pgdb" -c "CREATE DATABASE $pgdb"
    uri="${PG_URI%/*}/$pgdb"
  fi
  local pids=() tags=() i t pub admin
  for ((i = 1; i <= replicas; i++)); do
    t=$tag; pub=$PUB_PORT; admin=$ADMIN_PORT
    if ((replicas > 1)); then
      t="$tag.$( ((i == 1)) && echo a || echo b)"
      ((i == 1)) || { pub=$PUB2_PORT; admin=$ADMIN2_PORT; }
    fi
    start_dlrd "$4" "$t" "$template" "$uri" "$pub" "$admin"
    pids+=("$DLRD_PID"); tags+=("$t")
  done
  local proc0 proc pg0="" pg=""
  proc0=$($PY proc "${pids[@]}")
  [[ -z "$uri" ]] || pg0=$(pg_cpu)
  if ((replicas > 1)); then
    run_wrk2 "$PUB_PORT" "$PUB2_PORT" "$tag" "$3"
  else
    run_wrk "$PUB_PORT" "$tag" "$3"
  fi
  [[ -z "$uri" ]] || pg=$(pg_cpu)
  proc=$($PY proc "${pids[@]}")   # VmHWM at the end of the run
  $PY scrape "http://127.0.0.1:$ADMIN_PORT/metrics" "$WORK/${tags[0]}.metrics"
  ((replicas < 2)) || $PY scrape "http://127.0.0.1:$ADMIN2_PORT/metrics" "$WORK/${tags[1]}.metrics"
  local rc=0
  for i in "${!pids[@]}"; do
    rc=0
    stop_pid "${pids[$i]}" || rc=$?
    if ((rc != 0)); then
      echo "bench: !!! dlrd exited $rc after ${tags[$i]}; its log:" >&2
      tail -20 "$WORK/${tags[$i]}.dlrd.log" >&2
      STATUS=1
    fi
  done
  local rows rc=0 wrk clock metrics
  if [[ -n "$uri" ]]; then
    rows=$(pg_psql "$pgdb" -c "SELECT count(*) FROM delivery_events")
    extra=(backend=postgres replicas="$replicas" pg0="$pg0" pg="$pg")
  else
    rows=$($PY rows "$DLRD_DB")
  fi
  if ((replicas > 1)); then
    wrk="$WORK/$tag.a.wrk.json,$WORK/$tag.b.wrk.json"
    clock="$WORK/$tag.a.clock.json,$WORK/$tag.b.clock.json"
    metrics="$WORK/${tags[0]}.metrics,$WORK/${tags[1]}.metrics"
  else
    wrk="$WORK/$tag.wrk.json" clock="$WORK/$tag.clock.json" metrics="$WORK/$tag.metrics"
  fi
  $PY record "$RESULTS" target=dlrd mode="$2" round="$1" io_threads="$4" \
    connections="$CONNECTIONS" target_rate="$3" wrk="$wrk" \
    proc0="$proc0" proc="$proc" clock="$clock" fsync="$FSYNC" \
    metrics="$metrics" rows="$rows" prefill="$prefill" "${extra[@]}" || rc=$?
  if [[ -n "$uri" ]]; then
    pg_psql postgres -c "DROP DATABASE $pgdb"
  else
    rm -f "$DLRD_DB" "$DLRD_DB-wal" "$DLRD_DB-shm"
  fi
  return "$rc"   # 4: clean but the machine was busy (attempt() retries)
}

# A run during which other processes used > 0.15 cores (a build on this
# shared box) is measured again, up to $RETRIES times; the last attempt counts.
RETRIED=0
attempt() {  # measure_nginx|measure_dlrd args...
  local try rc
  for ((try = 0; ; try++)); do
    rc=0
    "$@" || rc=$?
    if ((rc == 4 && try < RETRIES)); then
      echo "  bench: the machine was busy during that run; measuring it again"
      $PY set-aside "$RESULTS" "$WORK/retried.jsonl"
      RETRIED=$((RETRIED + 1))
      continue
    fi
    ((rc == 0 || rc == 4)) || exit "$rc"
    return 0
  done
}

# ------------------------------------------------------------------ run
T0=$(date +%s)
echo "bench: generating $CORPUS pre-signed unique events ($THREADS slices)"
python3 "$HERE/gen_corpus.py" --out "$WORK/corpus" --count "$CORPUS" --threads "$THREADS" >"$WORK/corpus.json"

TEMPLATE=""
PREFILL_ROWS=0
if ((PREFILL)); then
  # Generated and migrated once (cached across invocations, shared with
  # stats.sh); every prefilled run starts on its own copy of it.
  echo "bench: prefilled database: $PREFILL events (cached, migrated once)"
  in_bg $PY cached-db --events "$PREFILL" --bin "$BIN" --quiet-wait "$QUIET_WAIT" \
    ${CACHE_DIR:+--cache-dir "$CACHE_DIR"} >"$WORK/template.path"
  TEMPLATE=$(tail -1 "$WORK/template.path")
  PREFILL_ROWS=$($PY rows "$TEMPLATE")
  if ((PREFILL_ROWS != PREFILL)); then
    echo "bench: $TEMPLATE holds $PREFILL_ROWS events, not $PREFILL" >&2
    exit 1
  fi
fi

PG_URI=""
PG_VERSION=""
if [[ "$BACKEND" != sqlite ]]; then
  # Our own PostgreSQL server (fsync and synchronous_commit on, trust on
  # loopback), stopped by cleanup(); its data directory is under /tmp too.
  echo "bench: starting PostgreSQL (tests/testutil/pg_server.sh)"
  PG_STATE="$WORK/pg"
  in_bg bash "$PG_SERVER" start "$PG_STATE"
  PG_URI=$(cat "$PG_STATE/uri")
  PG_VERSION=$(pg_psql postgres -c "SHOW server_version")
fi

store_desc() {
  case "$1" in sqlite) echo SQLite ;; pg1) echo "PostgreSQL x1" ;; pg2) echo "PostgreSQL x2" ;; esac
}
if [[ "$BACKEND" == sqlite ]]; then
  echo "bench: phase 1, max throughput: ${ROUNDS} rounds of nginx, then dlrd io_threads ${IO_LIST}" \
    "$( ((PREFILL)) && echo "(each on an empty database, then on a copy holding $PREFILL events)")"
else
  echo "bench: phase 1, max throughput: ${ROUNDS} rounds of nginx, then per io_threads setting (${IO_LIST}) dlrd on" \
    "$(for st in "${STORES[@]}"; do printf '%s, ' "$(store_desc "$st")"; done | sed 's/, $//')"
fi
for ((r = 1; r <= ROUNDS; r++)); do
  attempt measure_nginx "$r" max 0
  for io in "${IO_THREADS[@]}"; do
    for st in "${STORES[@]}"; do
      attempt measure_dlrd "$r" max 0 "$io" 0 "$st"
      if ((PREFILL)) && [[ $st == sqlite ]]; then attempt measure_dlrd "$r" max 0 "$io" "$PREFILL_ROWS"; fi
    done
  done
done

store_args() {  # backend and replicas for median-rate
  case "$1" in sqlite) echo "sqlite 1" ;; pg1) echo "postgres 1" ;; pg2) echo "postgres 2" ;; esac
}
declare -A HALF   # "store:io" -> half of its median ok req/s
if ((FIXED)); then
  for st in "${STORES[@]}"; do
    for io in "${IO_THREADS[@]}"; do
      # shellcheck disable=SC2046
      HALF[$st:$io]=$(($($PY median-rate "$RESULTS" dlrd "$io" $(store_args "$st")) / 2))
    done
  done
  echo "bench: phase 2, fixed rate at half of dlrd's median:" \
    "$(for st in "${STORES[@]}"; do for io in "${IO_THREADS[@]}"; do
         if [[ "$BACKEND" == sqlite ]]; then printf 'io%s %s/s ' "$io" "${HALF[$st:$io]}"
         else printf '%s io%s %s/s, ' "$(store_desc "$st")" "$io" "${HALF[$st:$io]}"; fi
       done; done)"
  for ((r = 1; r <= ROUNDS; r++)); do
    # nginx at the first store's and io setting's rate: the floor of wrk + loopback.
    attempt measure_nginx "$r" rate "${HALF[${STORES[0]}:${IO_THREADS[0]}]}"
    for io in "${IO_THREADS[@]}"; do
      for st in "${STORES[@]}"; do
        if ((HALF[$st:$io] > 0)); then attempt measure_dlrd "$r" rate "${HALF[$st:$io]}" "$io" 0 "$st"; fi
      done
    done
  done
fi
T1=$(date +%s)

# ------------------------------------------------------------------ report
cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
fs=$(df -T "$WORK" | awk 'NR==2 {print $2}')
ver_dlrd=$( ("$BIN" --version 2>/dev/null || true) | head -1)
ver_wrk=$( (wrk -v 2>&1 || true) | head -1 | awk '{print $2}')
ver_nginx=$( ("$NGINX" -v 2>&1 || true) | sed 's/.*nginx\///')
ver_sqlite=$(dpkg-query -W -f='${Version}' libsqlite3-0 2>/dev/null || echo unknown)
git_rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$ROOT" status --porcelain -- src include schema CMakeLists.txt 2>/dev/null | head -1 || true)  # pipefail: head closes the pipe early
[[ -n "$dirty" ]] && git_rev="$git_rev + uncommitted changes"
pg_ver=""
[[ -z "$PG_VERSION" ]] || pg_ver="; PostgreSQL $PG_VERSION (tests/testutil/pg_server.sh: fsync on, synchronous_commit on, shared_buffers 64MB)"
export META_DATE="$(date -u +%Y-%m-%d)" META_MACHINE="nproc $(nproc), $cpu, $mem RAM, kernel $(uname -r), database on $fs under /tmp; wrk, nginx and dlrd share the cores" \
  META_VERSIONS="$ver_dlrd built from work tree $git_rev (the revision in --version is stamped at configure time); wrk $ver_wrk; nginx $ver_nginx; libsqlite3-0 $ver_sqlite$pg_ver" \
  META_COMMAND="bench/run.sh ${ORIG_ARGS[*]}   # $((T1 - T0)) s; resolved: --duration $DURATION --connections $CONNECTIONS --threads $THREADS --rounds $ROUNDS --io-threads $IO_LIST --corpus $CORPUS --prefill $PREFILL$([[ "$BACKEND" == sqlite ]] || echo " --backend $BACKEND") --quiet-wait $QUIET_WAIT --retries $RETRIES" \
  META_WRK="BENCH_RATE=<0|rate> $WRK_CMD" \
  META_ROUNDS="$ROUNDS" META_THREADS="$THREADS" META_CONNECTIONS="$CONNECTIONS" \
  META_DURATION="$DURATION" META_CORPUS="$CORPUS" META_RETRIED="$RETRIED" \
  META_PREFILL="$PREFILL_ROWS" META_TEMPLATE="$TEMPLATE" META_BACKEND="$BACKEND"
python3 - "$WORK/meta.json" <<'EOF'
import json, os, sys
e = os.environ
def prefill_db(path):  # the cached template's size, generation and migration
    if not path:
        return None
    out = {"path": path, "bytes": os.path.getsize(path)}
    for key, suffix in (("gen", ".gen.json"), ("migration", ".bench.json")):
        if os.path.exists(path + suffix):
            out[key] = json.load(open(path + suffix))
    return out
json.dump({
    "date": e["META_DATE"], "machine": e["META_MACHINE"],
    "versions": e["META_VERSIONS"], "command": e["META_COMMAND"],
    "wrk_cmd": e["META_WRK"], "rounds": int(e["META_ROUNDS"]),
    "threads": int(e["META_THREADS"]), "connections": int(e["META_CONNECTIONS"]),
    "duration": int(e["META_DURATION"]), "corpus": int(e["META_CORPUS"]),
    "retried": int(e["META_RETRIED"]),
    "backend": e["META_BACKEND"],
    "prefill": int(e["META_PREFILL"]),
    "prefill_db": prefill_db(e["META_TEMPLATE"]),
    "method": (
        "Method: max-rate runs are closed-loop (each connection sends its next "
        "request when the previous answer arrives). Fixed-rate runs: Debian has "
        "no wrk2, so bench/signed.lua defines wrk's `delay()` to keep an absolute "
        "per-thread send schedule (rate/threads per second; each ready connection "
        "takes the next slot) at half the median ok req/s that dlrd reached with "
        "the same io_threads; the nginx fixed-rate row uses the first io setting's "
        "rate and shows the floor of wrk + loopback. wrk measures latency from "
        "the moment a request is written (with its own coordinated-omission "
        "correction at the end), not from its scheduled slot. dlrd answers 200 "
        "only after the group commit (WAL, synchronous=FULL) is durable; nginx "
        "does no work. Peak RSS = VmHWM from /proc/<pid>/status just before "
        "SIGTERM; for nginx the master's and workers' VmHWM are summed (shared "
        "pages counted once per process)."),
}, open(sys.argv[1], "w"), indent=1)
EOF
echo
rc=0
$PY report "$RESULTS" "$WORK/meta.json" "$OUT" || rc=$?
echo
echo "bench: wrote $OUT ($((T1 - T0)) s of measurement)"
if ((rc != 0 || STATUS != 0)); then
  echo "bench: !!! SOME RUNS ARE INVALID (non-2xx, socket errors, corpus wrap, DB mismatch or dlrd exit code); see above" >&2
  exit 3
fi
