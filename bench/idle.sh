#!/usr/bin/env bash
# What idle keep-alive connections cost dlrd in memory: VmRSS before and
# after N loopback connections that each sent one signed webhook, got its
# 200 and stay open, idle. See bench/README.md ("Idle connections").
#
#   bench/idle.sh [--n 10000] [--warmup 10000] [--rounds 3] [--io-threads 2]
#                 [--settle 3] [--idle-timeout-ms 600000] [--no-build]
#                 [--bin PATH] [--keep] [--quiet-wait 10]
#
# Installs nothing. Loopback only. Every process it starts is stopped on exit.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")

N=10000
WARMUP=10000
ROUNDS=3
IO=2
SETTLE=3
IDLE_MS=600000
BUILD_IT=1
BIN="$ROOT/build-bench/dlrd"
KEEP=0
QUIET_WAIT=10

usage() { sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
need_int() { [[ "$2" =~ ^[0-9]+$ ]] || { echo "idle: $1 needs a number, got '$2'" >&2; exit 2; }; }
while (($#)); do
  case "$1" in
    --n) need_int "$1" "${2:-}"; N=$2; shift 2 ;;
    --warmup) need_int "$1" "${2:-}"; WARMUP=$2; shift 2 ;;
    --rounds) need_int "$1" "${2:-}"; ROUNDS=$2; shift 2 ;;
    --io-threads) need_int "$1" "${2:-}"; IO=$2; shift 2 ;;
    --settle) SETTLE=${2:?}; shift 2 ;;
    --idle-timeout-ms) need_int "$1" "${2:-}"; IDLE_MS=$2; shift 2 ;;
    --no-build) BUILD_IT=0; shift ;;
    --bin) BIN=${2:?}; BUILD_IT=0; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --quiet-wait) need_int "$1" "${2:-}"; QUIET_WAIT=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "idle: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
((N >= 1 && ROUNDS >= 1 && IO >= 1)) || { echo "idle: --n, --rounds and --io-threads must be >= 1" >&2; exit 2; }
PY="python3 $HERE/benchlib.py"

# dlrd raises its soft RLIMIT_NOFILE to the hard limit; the client does the
# same. Both need N descriptors (plus a few), each in its own process.
HARD=$(ulimit -Hn)
if [[ "$HARD" != unlimited ]] && ((HARD < N + 128)); then
  echo "idle: the hard open-file limit is $HARD, below --n $N + 128; raise it (ulimit -Hn as root) or lower --n" >&2
  exit 2
fi
# Room for the idle connections plus the 16 warm-up connections and the
# scrapes; the public and admin listeners each get this limit.
MAX_CONN=$((N + 64))

if ((BUILD_IT)); then
  BUILD="$ROOT/build-bench"
  if ! grep -qs '^CMAKE_BUILD_TYPE:STRING=Release$' "$BUILD/CMakeCache.txt"; then
    echo "idle: configuring a Release build in $BUILD"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DDLRD_BUILD_TESTS=OFF \
      >/tmp/dlrd-idle-build.log 2>&1 || { cat /tmp/dlrd-idle-build.log >&2; exit 1; }
  fi
  echo "idle: building dlrd (Release, incremental, -j1: the machine is shared)"
  cmake --build "$BUILD" -j1 --target dlrd >/tmp/dlrd-idle-build.log 2>&1 ||
    { cat /tmp/dlrd-idle-build.log >&2; echo "idle: build failed" >&2; exit 1; }
  rm -f /tmp/dlrd-idle-build.log
fi
[[ -x "$BIN" ]] || { echo "idle: $BIN is missing" >&2; exit 2; }

WORK=$(mktemp -d /tmp/dlrd-idle.XXXXXX)
DLRD_PID=""
CLIENT_PID=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -n "$CLIENT_PID" ]] && kill -TERM "$CLIENT_PID" 2>/dev/null || true
  if [[ -n "$DLRD_PID" ]]; then
    kill -TERM "$DLRD_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$DLRD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DLRD_PID" 2>/dev/null || true
  fi
  if ((KEEP)) || ((rc != 0)); then echo "idle: logs kept in $WORK" >&2; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export BENCH_SECRET="idle-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
STATUS=0
for ((r = 1; r <= ROUNDS; r++)); do
  read -r PUB ADMIN <<<"$($PY ports 2)"
  DB="$WORK/r$r.db"
  $PY config "$WORK/r$r.jsonc" "$PUB" "$ADMIN" "$DB" "$IO" "$MAX_CONN" "$IDLE_MS"
  "$BIN" serve --config "$WORK/r$r.jsonc" 2>"$WORK/r$r.dlrd.log" &
  DLRD_PID=$!
  if ! $PY wait-http "http://127.0.0.1:$ADMIN/readyz" 15 "$DLRD_PID"; then
    echo "idle: dlrd did not become ready; its log:" >&2
    cat "$WORK/r$r.dlrd.log" >&2
    exit 1
  fi
  $PY quiet "$QUIET_WAIT" 0.15 || true
  echo "idle: round $r/$ROUNDS (dlrd pid $DLRD_PID, io_threads $IO," \
    "max_connections $MAX_CONN, idle_timeout_ms $IDLE_MS)"
  rc=0
  python3 "$HERE/idle_bench.py" --port "$PUB" --admin-port "$ADMIN" \
    --pid "$DLRD_PID" --n "$N" --warmup "$WARMUP" --settle "$SETTLE" \
    --json "$WORK/r$r.json" &
  CLIENT_PID=$!
  wait "$CLIENT_PID" || rc=$?
  CLIENT_PID=""
  ((rc == 0)) || { echo "idle: round $r is INVALID (client exit $rc)" >&2; STATUS=3; }
  kill -TERM "$DLRD_PID" 2>/dev/null || true
  drc=0
  wait "$DLRD_PID" || drc=$?
  DLRD_PID=""
  ((drc == 0)) || { echo "idle: dlrd exited $drc; its log:" >&2; tail -20 "$WORK/r$r.dlrd.log" >&2; STATUS=1; }
  rm -f "$DB" "$DB-wal" "$DB-shm"
done

python3 - "$WORK" "$ROUNDS" "$N" <<'EOF'
import json, statistics, sys
work, rounds, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rs = []
for r in range(1, rounds + 1):
    try:
        with open(f"{work}/r{r}.json") as f:
            rs.append(json.load(f))
    except OSError:
        pass
if not rs:
    sys.exit(0)
med = lambda xs: statistics.median(xs)
mib = lambda kb: f"{kb / 1024:.1f} MiB"
added = [x["added_kib"] for x in rs]
per = [x["per_conn_bytes"] for x in rs]
ctl = [x["control"]["VmRSS"] - x["warmup"]["VmRSS"] for x in rs]
print(f"idle: {len(rs)} round(s), {n} idle connections: RSS added "
      f"median {mib(med(added))} (rounds: {', '.join(mib(a) for a in added)}), "
      f"median {med(per):.0f} bytes per connection; "
      f"baseline (after warm-up and control) median {mib(med([x['control']['VmRSS'] for x in rs]))}, "
      f"from start median {mib(med([x['idle']['VmRSS'] - x['start']['VmRSS'] for x in rs]))}; "
      f"{n} stored webhooks alone (control) median {mib(med(ctl))}"
      + ("" if all(x["valid"] for x in rs) else "; SOME ROUNDS INVALID"))
EOF
exit "$STATUS"
