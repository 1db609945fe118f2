#!/usr/bin/env bash
# Analytics benchmark: "with 10 million events in the database, a 24 h stats
# query answers in under 250 ms".
#
#   bench/stats.sh [--events 10000000] [--days 30] [--seed 1] [--runs 20]
#                  [--db PATH] [--regen] [--cache-dir DIR] [--max-age-h 6]
#                  [--bin PATH [--bin-desc TEXT]] [--jobs 1] [--no-build]
#                  [--quiet-wait 180] [--out bench/stats_results.md]
#
# 1. Builds dlrd in Release in build-bench/ when needed (incremental, -j1 by
#    default: the machine is shared), unless --bin names a binary.
# 2. Gets the database from the cache shared with `run.sh --prefill` and
#    restart.sh (`benchlib.py cached-db`): $TMPDIR/dlrd-bench-cache/events-
#    <events>-<days>d-s<seed>.db (--cache-dir DIR instead), written by
#    bench/gen_stats_db.py (schema version 2, --events delivery events over
#    --days days ending at generation) when missing or when its history
#    ended more than --max-age-h hours ago (default 6; 0: any age; --regen
#    forces a new one); --db PATH uses (or creates) that file instead. The
#    first `dlrd serve` on a new file runs migrations 0003.. once (timed;
#    kept in <db>.bench.json).
# 3. bench/stats_bench.py: the 24 h / 7 d / hourly / 30 d queries are timed
#    --runs times through `dlrd stats` and GET /v1/stats, and the 24 h
#    report is checked against GROUP BYs over the raw tables (before the
#    queries it waits up to --quiet-wait s for the machine to be idle).
#    Writes --out and prints it.
# Installs nothing, listens on free loopback ports only, and stops every
# process it started (also on Ctrl-C). Needs python3 (and cmake + the build
# dependencies to build). About 4 min to generate 10 M events on a 2-CPU
# VM, ~1 min to migrate, ~1 min of queries.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
events=10000000
days=30
seed=1
runs=20
db=""
regen=0
cache=""
max_age_h=6
bin=""
bin_desc=""
jobs=1
build=1
out="$here/stats_results.md"
quiet_wait=180
cmdline="bench/stats.sh $*"

while [ $# -gt 0 ]; do
  case "$1" in
    --events) events="$2"; shift 2 ;;
    --days) days="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --db) db="$2"; shift 2 ;;
    --regen) regen=1; shift ;;
    --cache-dir) cache="$2"; shift 2 ;;
    --max-age-h) max_age_h="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --bin-desc) bin_desc="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --out) out="$2"; shift 2 ;;
    --quiet-wait) quiet_wait="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | grep '^#'; exit 0 ;;
    *) echo "stats.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

command -v python3 >/dev/null || {
  echo "stats.sh: python3 is missing: run deploy/install-deps.sh (this script installs nothing)" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/dlrd-stats-bench.XXXXXX")"
# Each step runs in the background and is waited for, so that a SIGTERM or
# Ctrl-C is handled at once; cleanup() stops the step that is running (the
# Python helpers stop their own children: the build, the generator, dlrd).
child=""
cleanup() {
  if [ -n "$child" ]; then
    kill "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
step() {  # run "$@" as the current child; returns its exit code
  "$@" &
  child=$!
  local rc=0
  wait "$child" || rc=$?
  child=""
  return "$rc"
}

# 1. Binary.
if [ -z "$bin" ]; then
  bin="$root/build-bench/dlrd"
  if [ "$build" = 1 ]; then
    command -v cmake >/dev/null || {
      echo "stats.sh: cmake is missing (or pass --bin): run deploy/install-deps.sh" >&2; exit 2; }
    step python3 "$here/benchlib.py" build "$root" "$jobs"
  fi
fi
[ -x "$bin" ] || { echo "stats.sh: no dlrd binary at $bin" >&2; exit 2; }

# 2. Database (generated and migrated once, cached).
regen_arg=""
[ "$regen" = 0 ] || regen_arg=--regen
step python3 "$here/benchlib.py" cached-db --events "$events" --days "$days" \
  --seed "$seed" --max-age-h "$max_age_h" --bin "$bin" \
  --quiet-wait "$quiet_wait" ${cache:+--cache-dir "$cache"} ${db:+--db "$db"} \
  $regen_arg > "$work/db.path"
db=$(tail -1 "$work/db.path")
gen_json="$db.gen.json"
cat "$gen_json"; echo

# 3. Time, check, report.
echo "== benchmark"
rc=0
step python3 "$here/stats_bench.py" --bin "$bin" --db "$db" --runs "$runs" \
  --gen-json "$gen_json" --out "$out" --work "$work" \
  --quiet-wait "$quiet_wait" \
  --command "$cmdline" ${bin_desc:+--bin-desc "$bin_desc"} || rc=$?
echo "== report written to $out (exit $rc)"
exit $rc
