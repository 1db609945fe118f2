#!/usr/bin/env bash
# dlrd fallback benchmark: ack -> send latency and sustained fallback
# sends/s through the outbox dispatcher and the HTTPS client, against
# tests/mock_provider over real TLS on loopback. See bench/README.md,
# "Fallback benchmark".
#
#   bench/fallback.sh [--latency-n 1000] [--rate 50] [--burst 5000] [--rounds 3]
#                     [--poll-ms 200] [--no-diag] [--out bench/fallback_results.md]
#                     [--jobs 1] [--no-build] [--keep] [--quiet-wait 60]
#                     [--bin PATH --bin-desc TEXT]
#
# --bin: measure that dlrd binary instead of building build-bench/dlrd;
# --bin-desc says in the report what it is (e.g. "Release build of 9127d16").
#
# Installs nothing. Loopback only. Every process it starts is stopped on exit.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
ORIG_ARGS=("$@")

LATENCY_N=1000
RATE=50
BURST=5000
ROUNDS=3
POLL_MS=200
DIAG=1
OUT="$HERE/fallback_results.md"
JOBS=1
BUILD_IT=1
KEEP=0
QUIET_WAIT=60
BIN=""
BIN_DESC=""

usage() { sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
need_int() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "fallback: $1 needs a positive integer, got '$2'" >&2; exit 2; }; }

while (($#)); do
  case "$1" in
    --latency-n) need_int "$1" "${2:-}"; LATENCY_N=$2; shift 2 ;;
    --rate) need_int "$1" "${2:-}"; RATE=$2; shift 2 ;;
    --burst) need_int "$1" "${2:-}"; BURST=$2; shift 2 ;;
    --rounds) need_int "$1" "${2:-}"; ROUNDS=$2; shift 2 ;;
    --poll-ms) need_int "$1" "${2:-}"; POLL_MS=$2; shift 2 ;;
    --no-diag) DIAG=0; shift ;;
    --out) OUT=${2:?}; shift 2 ;;
    --jobs) need_int "$1" "${2:-}"; JOBS=$2; shift 2 ;;
    --no-build) BUILD_IT=0; shift ;;
    --bin) BIN=${2:?}; BUILD_IT=0; shift 2 ;;
    --bin-desc) BIN_DESC=${2:?}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --quiet-wait) [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "fallback: --quiet-wait needs seconds" >&2; exit 2; }
                  QUIET_WAIT=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "fallback: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
((POLL_MS >= 10)) || { echo "fallback: --poll-ms must be >= 10 (dlrd's minimum)" >&2; exit 2; }

# ------------------------------------------------------------------ tools
missing=()
command -v python3 >/dev/null || missing+=(python3)
command -v openssl >/dev/null || missing+=(openssl)
if ((${#missing[@]})); then
  echo "fallback: missing: ${missing[*]}" >&2
  echo "fallback: run deploy/install-deps.sh (as root) first; this script installs nothing." >&2
  exit 2
fi

kill_tree() {  # SIGTERM a process we started and its descendants, by pid
  local c
  for c in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$c"; done
  kill -TERM "$1" 2>/dev/null || true
}

# ------------------------------------------------------------------ build
BUILD="$ROOT/build-bench"
if [[ -n "$BIN" ]]; then
  [[ -x "$BIN" ]] || { echo "fallback: --bin $BIN is not an executable" >&2; exit 2; }
  BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
  [[ -n "$BIN_DESC" ]] || BIN_DESC="\`$BIN\` ($("$BIN" --version 2>/dev/null | head -1 || true))"
else
  BIN="$BUILD/dlrd"
fi
if ((BUILD_IT)) && command -v cmake >/dev/null; then
  BUILD_LOG=$(mktemp /tmp/dlrd-fallback-build.XXXXXX)
  if ! grep -qs '^CMAKE_BUILD_TYPE:STRING=Release$' "$BUILD/CMakeCache.txt"; then
    echo "fallback: configuring a Release build in $BUILD"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DDLRD_BUILD_TESTS=OFF \
      >"$BUILD_LOG" 2>&1 || { cat "$BUILD_LOG" >&2; rm -f "$BUILD_LOG"; exit 1; }
  fi
  echo "fallback: building dlrd (Release, incremental, -j$JOBS)"
  # In the background and waited for, so that an interrupt stops the build.
  cmake --build "$BUILD" -j"$JOBS" --target dlrd >"$BUILD_LOG" 2>&1 &
  BUILD_PID=$!
  trap 'kill_tree "$BUILD_PID"; rm -f "$BUILD_LOG"; exit 130' INT TERM
  wait "$BUILD_PID" ||
    { cat "$BUILD_LOG" >&2; rm -f "$BUILD_LOG"; echo "fallback: build failed" >&2; exit 1; }
  trap - INT TERM
  rm -f "$BUILD_LOG"
elif [[ ! -x "$BIN" ]]; then
  echo "fallback: $BIN is missing (and not building it): run bench/run.sh or build it" >&2
  exit 2
fi

# ------------------------------------------------------------------ run
WORK=$(mktemp -d /tmp/dlrd-fallback.XXXXXX)
CHILD=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # The driver stops its own children (dlrd, mocks) on SIGTERM; the tree
  # walk catches anything left if it could not.
  if [[ -n "$CHILD" ]]; then
    kill_tree "$CHILD"
    for _ in $(seq 100); do kill -0 "$CHILD" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$CHILD" 2>/dev/null || true
  fi
  if ((KEEP)) || ((rc != 0)); then
    echo "fallback: logs kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

DIAG_ARGS=()
((DIAG)) || DIAG_ARGS=(--diag 0)
CMD="bench/fallback.sh${ORIG_ARGS[*]:+ ${ORIG_ARGS[*]}}"
CMD="$CMD   # resolved: --latency-n $LATENCY_N --rate $RATE --burst $BURST --rounds $ROUNDS --poll-ms $POLL_MS$( ((DIAG)) || echo ' --no-diag')"

# In the background and waited for, so a SIGTERM to this script is handled
# at once (bash defers traps until a foreground child exits).
rc=0
python3 "$HERE/fallback_bench.py" --bin "$BIN" --work "$WORK" --out "$OUT" \
  --command "$CMD" --bin-desc "$BIN_DESC" --latency-n "$LATENCY_N" --rate "$RATE" --burst "$BURST" \
  --rounds "$ROUNDS" --poll-ms "$POLL_MS" --quiet-wait "$QUIET_WAIT" \
  "${DIAG_ARGS[@]}" &
CHILD=$!
wait "$CHILD" || rc=$?
CHILD=""
if ((rc == 3)); then
  echo "fallback: !!! SOME RUNS ARE INVALID (missing or duplicate sends, errors); see above" >&2
elif ((rc == 0)); then
  echo "fallback: wrote $OUT"
fi
exit "$rc"
